import BackupCore
import Foundation
import LinkProtocol
import SQLKit

extension SQLHubStore {
    public func enroll(tokenHash: String, publicKey: String, keyFingerprint: String, agentVersion: String, credentialHash: String, now: Date) async throws -> Server? {
        try await write { db in
            let ms = now.millisecondsSince1970
            guard let token = try await Self.consumeEnrollmentToken(hash: tokenHash, now: now, on: db) else { return nil }
            try await db.raw("""
                UPDATE servers SET public_key = \(bind: publicKey), key_fingerprint = \(bind: keyFingerprint), agent_version = \(bind: agentVersion),
                  enrolled_at = \(bind: ms), last_seen_at = \(bind: ms), agent_credential_hash = \(bind: credentialHash)
                WHERE id = \(bind: token.serverID) AND account_id = \(bind: token.accountID)
                """).run()
            return try await db.raw("SELECT * FROM servers WHERE id = \(bind: token.serverID)").first().map(Self.server)
        }
    }

    public func server(agentCredentialHash: String) async throws -> Server? {
        try await read { db in
            try await db.raw("SELECT * FROM servers WHERE agent_credential_hash = \(bind: agentCredentialHash)").first().map(Self.server)
        }
    }

    public func touchServer(id: String, at: Date) async throws {
        try await read { db in
            try await db.raw("UPDATE servers SET last_seen_at = \(bind: at.millisecondsSince1970) WHERE id = \(bind: id)").run()
        }
    }

    public func snapshot(accountID: String, runID: String) async throws -> Snapshot? {
        try await read { db in
            let rows = try await db.raw("SELECT s.* FROM snapshots s WHERE s.account_id = \(bind: accountID) AND s.run_id = \(bind: runID)").all()
            return try await Self.withCopies(rows, on: db).first
        }
    }

    public func ingest(_ event: AgentEvent, accountID: String, serverID: String, now: Date) async throws -> Bool {
        var run = event.run
        run.accountID = accountID
        run.serverID = serverID
        if let excerpt = run.logExcerpt, excerpt.utf8.count > Run.maxLogExcerptBytes {
            run.logExcerpt = String(decoding: excerpt.utf8.suffix(Run.maxLogExcerptBytes), as: UTF8.self)
        }
        let progress = try event.progress.map { try ColumnJSON.encode($0) }
        let results = try ColumnJSON.encode(run.results)
        var snapshot = event.snapshot
        snapshot?.accountID = accountID
        snapshot?.serverID = serverID
        snapshot?.runID = run.id
        snapshot?.jobID = run.jobID
        let finalRun = run
        let finalSnapshot = snapshot
        do {
            return try await applyEvent(event, run: finalRun, snapshot: finalSnapshot, progress: progress, results: results,
                                        accountID: accountID, serverID: serverID, now: now)
        } catch where Self.isUniqueViolation(error) {
            return false // the same event delivered twice at once (the run and the daemon both flush): stored by the other
        }
    }

    private func applyEvent(_ event: AgentEvent, run finalRun: Run, snapshot finalSnapshot: Snapshot?, progress: String?, results: String,
                            accountID: String, serverID: String, now: Date) async throws -> Bool {
        try await write { db in
            if try await db.raw("SELECT id FROM agent_events WHERE server_id = \(bind: serverID) AND id = \(bind: event.id)").first() != nil { return false }
            try await db.raw("INSERT INTO agent_events (id, server_id, received_at) VALUES (\(bind: event.id), \(bind: serverID), \(bind: now.millisecondsSince1970))").run()
            // A run or job of another server is never touched, whatever the event claims. A restore
            // run is the exception that proves it: the hub created it for this server, possibly
            // with another server's snapshot (and job); the agent cannot create one.
            let existing = try await db.raw("SELECT server_id, status, trigger FROM runs WHERE id = \(bind: finalRun.id)").first()
            if let existing, try existing.text("server_id") != serverID { return true }
            let restoring = try existing?.text("trigger") == RunTrigger.restore.rawValue
            if existing == nil && finalRun.trigger == .restore { return true }
            if !restoring, let owner = try await db.raw("SELECT server_id FROM jobs WHERE id = \(bind: finalRun.jobID)").first(), try owner.text("server_id") != serverID {
                return true
            }
            let existingStatus = try existing.map { RunStatus(rawValue: try $0.text("status")) } ?? nil
            switch event.kind {
            case .runProgress:
                // Progress after the end (a late packet) must not reopen a finished run.
                if existingStatus?.isFinished == false {
                    try await db.raw("UPDATE runs SET progress = \(bind: progress), status = 'running' WHERE id = \(bind: finalRun.id)").run()
                }
            case .runStarted, .runFinished:
                if existing == nil {
                    if let slot = finalRun.slot, try await db.raw("SELECT id FROM runs WHERE job_id = \(bind: finalRun.jobID) AND slot = \(bind: slot.millisecondsSince1970)").first() != nil {
                        return true // the slot already has its run (another trigger); nothing to record twice
                    }
                    try await db.raw("""
                        INSERT INTO runs (id, account_id, server_id, job_id, trigger, slot, status, created_at, started_at, finished_at,
                                          bytes_added, bytes_processed, files_new, results, log_excerpt)
                        VALUES (\(bind: finalRun.id), \(bind: accountID), \(bind: serverID), \(bind: finalRun.jobID), \(bind: finalRun.trigger.rawValue),
                                \(bind: finalRun.slot.milliseconds), \(bind: finalRun.status.rawValue), \(bind: finalRun.createdAt.millisecondsSince1970),
                                \(bind: finalRun.startedAt.milliseconds), \(bind: finalRun.finishedAt.milliseconds), \(bind: finalRun.bytesAdded),
                                \(bind: finalRun.bytesProcessed), \(bind: finalRun.filesNew), \(bind: results), \(bind: finalRun.logExcerpt))
                        """).run()
                } else if event.kind == .runFinished || existingStatus?.isFinished == false {
                    try await db.raw("""
                        UPDATE runs SET status = \(bind: finalRun.status.rawValue), started_at = \(bind: finalRun.startedAt.milliseconds),
                          finished_at = \(bind: finalRun.finishedAt.milliseconds), bytes_added = \(bind: finalRun.bytesAdded),
                          bytes_processed = \(bind: finalRun.bytesProcessed), files_new = \(bind: finalRun.filesNew), results = \(bind: results),
                          log_excerpt = \(bind: finalRun.logExcerpt), slot = \(bind: finalRun.slot.milliseconds)
                        WHERE id = \(bind: finalRun.id)
                        """).run()
                }
                try await db.raw("DELETE FROM run_destinations WHERE run_id = \(bind: finalRun.id)").run()
                try await Self.writeRunDestinations(finalRun, on: db)
                try await Self.recordLatestRun(id: finalRun.id, on: db)
                if event.kind == .runFinished {
                    try await db.raw("UPDATE runs SET progress = NULL WHERE id = \(bind: finalRun.id)").run()
                }
                if event.kind == .runFinished, let snapshot = finalSnapshot, !snapshot.copies.isEmpty,
                   try await db.raw("SELECT id FROM snapshots WHERE run_id = \(bind: finalRun.id)").first() == nil {
                    try await Self.insertSnapshot(snapshot, on: db)
                }
                for pruned in event.pruned ?? [] {
                    try await Self.removePrunedCopies(pruned, jobID: finalRun.jobID, accountID: accountID, on: db)
                }
            }
            return true
        }
    }

    /// Drops the copies whose restic snapshots retention removed, and snapshots left with no copy.
    static func removePrunedCopies(_ pruned: PrunedCopies, jobID: String, accountID: String, on db: any SQLDatabase) async throws {
        let removed = Set(pruned.resticSnapshotIDs.map { String($0.prefix(8)) })
        guard !removed.isEmpty else { return }
        let rows = try await db.raw("""
            SELECT c.snapshot_id, c.restic_ids FROM snapshot_copies c JOIN snapshots s ON s.id = c.snapshot_id
            WHERE c.account_id = \(bind: accountID) AND c.destination_id = \(bind: pruned.destinationID) AND s.job_id = \(bind: jobID)
            """).all()
        for row in rows {
            let ids = try row.document("restic_ids", as: [String].self).map { String($0.prefix(8)) }
            guard !ids.isEmpty, ids.allSatisfy({ removed.contains($0) }) else { continue }
            let snapshotID = try row.text("snapshot_id")
            try await db.raw("DELETE FROM snapshot_copies WHERE snapshot_id = \(bind: snapshotID) AND destination_id = \(bind: pruned.destinationID)").run()
            try await db.raw("DELETE FROM snapshot_entries WHERE snapshot_id = \(bind: snapshotID) AND destination_id = \(bind: pruned.destinationID)").run()
            try await db.raw("DELETE FROM snapshot_listings WHERE snapshot_id = \(bind: snapshotID) AND destination_id = \(bind: pruned.destinationID)").run()
            if try await db.raw("SELECT snapshot_id FROM snapshot_copies WHERE snapshot_id = \(bind: snapshotID)").first() == nil {
                try await db.raw("DELETE FROM snapshots WHERE id = \(bind: snapshotID)").run()
            }
        }
    }

    public func enqueueCommand(_ command: AgentCommand, accountID: String, serverID: String) async throws {
        try await write { db in
            try await db.raw("""
                INSERT INTO agent_commands (id, account_id, server_id, kind, job_id, run_id, slot, created_at, payload)
                VALUES (\(bind: command.id), \(bind: accountID), \(bind: serverID), \(bind: command.kind.rawValue), \(bind: command.jobID),
                        \(bind: command.runID), \(bind: command.slot.milliseconds), \(bind: command.createdAt.millisecondsSince1970),
                        \(bind: try Self.commandPayload(command)))
                """).run()
        }
    }

    public func pendingCommands(serverID: String) async throws -> [AgentCommand] {
        try await read { db in
            try await db.raw("SELECT * FROM agent_commands WHERE server_id = \(bind: serverID) AND acked_at IS NULL ORDER BY created_at, id LIMIT 100").all().compactMap { row in
                guard let kind = AgentCommand.Kind(rawValue: try row.text("kind")) else { return nil }
                return AgentCommand(id: try row.text("id"), kind: kind, jobID: try row.optionalText("job_id"), runID: try row.optionalText("run_id"),
                                    slot: try row.optionalDate("slot"), createdAt: try row.date("created_at"),
                                    restore: try payload(row)?.restore, listing: try payload(row)?.listing, download: try payload(row)?.download)
            }
        }
    }

    public func ackCommand(serverID: String, id: String, at: Date) async throws -> Bool {
        try await write { db in
            guard try await db.raw("SELECT id FROM agent_commands WHERE id = \(bind: id) AND server_id = \(bind: serverID)").first() != nil else { return false }
            try await db.raw("UPDATE agent_commands SET acked_at = \(bind: at.millisecondsSince1970) WHERE id = \(bind: id) AND acked_at IS NULL").run()
            return true
        }
    }
}

/// The orders a command carries, stored as one JSON column.
struct CommandPayload: Codable {
    var restore: RestoreOrder?
    var listing: ListingOrder?
    var download: DownloadOrder?
}

extension SQLHubStore {
    static func commandPayload(_ command: AgentCommand) throws -> String? {
        guard command.restore != nil || command.listing != nil || command.download != nil else { return nil }
        return try ColumnJSON.encode(CommandPayload(restore: command.restore, listing: command.listing, download: command.download))
    }
}

private func payload(_ row: any SQLRow) throws -> CommandPayload? {
    try row.optionalText("payload").map { try ColumnJSON.decode(CommandPayload.self, $0, column: "payload") }
}
