import BackupCore
import Foundation
import LinkProtocol
import SQLKit

extension SQLHubStore {
    public func enroll(tokenHash: String, publicKey: String, keyFingerprint: String, agentVersion: String, credentialHash: String, now: Date)
        async throws -> Server?
    {
        let enrolled: Server? = try await write { db in
            let ms = now.millisecondsSince1970
            guard let token = try await Self.consumeEnrollmentToken(hash: tokenHash, now: now, on: db) else { return nil }
            try await db.raw(
                """
                UPDATE servers SET certificate = CASE WHEN public_key = \(bind: publicKey) THEN certificate ELSE NULL END,
                  public_key = \(bind: publicKey), key_fingerprint = \(bind: keyFingerprint), agent_version = \(bind: agentVersion),
                  enrolled_at = \(bind: ms), last_seen_at = \(bind: ms), agent_credential_hash = \(bind: credentialHash)
                WHERE id = \(bind: token.serverID) AND account_id = \(bind: token.accountID)
                """
            ).run()
            try await CommandNotifications.notify(credential: token.serverID, on: db)
            return try await db.raw("SELECT * FROM servers WHERE id = \(bind: token.serverID)").first().map(Self.server)
        }
        if let enrolled { await credentialBell.ring(enrolled.id) }
        return enrolled
    }

    public func server(agentCredentialHash: String) async throws -> Server? {
        try await read { db in
            try await db.raw("SELECT * FROM servers WHERE agent_credential_hash = \(bind: agentCredentialHash)").first().map(Self.server)
        }
    }

    public func touchServer(id: String, at: Date, agentVersion: String?) async throws {
        try await touchServer(id: id, at: at, agentVersion: agentVersion, capabilities: nil)
    }

    public func touchServer(id: String, at: Date, agentVersion: String?, capabilities: [String]?) async throws {
        try await read { db in
            let ms = at.millisecondsSince1970
            switch (agentVersion, capabilities) {
            case (let version?, let names?):
                try await db.raw(
                    "UPDATE servers SET last_seen_at = \(bind: ms), agent_version = \(bind: version), capabilities = \(bind: names.joined(separator: ",")) WHERE id = \(bind: id)"
                ).run()
            case (let version?, nil):
                try await db.raw("UPDATE servers SET last_seen_at = \(bind: ms), agent_version = \(bind: version) WHERE id = \(bind: id)").run()
            case (nil, let names?):
                try await db.raw(
                    "UPDATE servers SET last_seen_at = \(bind: ms), capabilities = \(bind: names.joined(separator: ",")) WHERE id = \(bind: id)"
                ).run()
            case (nil, nil):
                try await db.raw("UPDATE servers SET last_seen_at = \(bind: ms) WHERE id = \(bind: id)").run()
            }
        }
    }

    public func snapshot(accountID: String, runID: String) async throws -> Snapshot? {
        try await read { db in
            let rows = try await db.raw("SELECT s.* FROM snapshots s WHERE s.account_id = \(bind: accountID) AND s.run_id = \(bind: runID)").all()
            return try await Self.withCopies(rows, on: db).first
        }
    }

    public func ingest(_ event: RunEvent, accountID: String, serverID: String, now: Date) async throws -> RunDecision? {
        var reported = event
        reported.run.accountID = accountID
        reported.run.serverID = serverID
        if let excerpt = reported.run.logExcerpt, excerpt.utf8.count > Run.maxLogExcerptBytes {
            reported.run.logExcerpt = String(decoding: excerpt.utf8.suffix(Run.maxLogExcerptBytes), as: UTF8.self)
        }
        let run = reported.run
        let progress = try event.progress.map { try ColumnJSON.encode($0) }
        let results = try ColumnJSON.encode(run.results)
        let report = reported
        do {
            let decision = try await write { db -> RunDecision? in
                if try await db.raw("SELECT id FROM agent_events WHERE server_id = \(bind: serverID) AND id = \(bind: event.id)").first() != nil {
                    return nil
                }
                try await db.raw(
                    "INSERT INTO agent_events (id, server_id, received_at) VALUES (\(bind: event.id), \(bind: serverID), \(bind: now.millisecondsSince1970))"
                ).run()
                let recorded = try await db.raw("SELECT server_id, job_id, trigger, status, created_at, slot FROM runs WHERE id = \(bind: run.id)")
                    .first()
                    .map(Self.recordedRun)
                let jobID = RunLifecycle.jobID(of: report, recorded: recorded)
                let owner = try await db.raw("SELECT server_id FROM jobs WHERE id = \(bind: jobID)").first()?.text("server_id")
                var slotTaken = false
                if recorded == nil, let slot = run.slot {
                    slotTaken =
                        try await db.raw("SELECT id FROM runs WHERE job_id = \(bind: jobID) AND slot = \(bind: slot.millisecondsSince1970)").first()
                        != nil
                }
                let decision = RunLifecycle.decide(report, sender: serverID, recorded: recorded, jobOwner: owner, slotTaken: slotTaken)
                if decision.changesRun { try await CommandNotifications.notify(run: run.id, on: db) }
                switch decision {
                case .ignore: break
                case .progress:
                    try await db.raw("UPDATE runs SET progress = \(bind: progress), status = 'running' WHERE id = \(bind: run.id)").run()
                case .write(let change):
                    let stored = RunLifecycle.stored(run, as: change, recorded: recorded, now: now)
                    try await Self.persist(stored, change, results: results, on: db)
                    if change.recordsSnapshot {
                        try await Self.recordOutcome(report, of: stored, accountID: accountID, serverID: serverID, now: now, on: db)
                    }
                }
                return decision
            }
            if decision?.changesRun == true { await runBell.ring(run.id) }
            return decision
        } catch StoreError.duplicate {
            return nil  // the same event delivered twice at once (the run and the daemon both flush): stored by the other
        }
    }

    static func recordedRun(_ row: any SQLRow) throws -> RecordedRun {
        guard let trigger = RunTrigger(rawValue: try row.text("trigger")), let status = RunStatus(rawValue: try row.text("status")) else {
            throw StoreError.corrupt("runs holds an unknown trigger or status")
        }
        return RecordedRun(
            serverID: try row.text("server_id"), jobID: try row.text("job_id"), trigger: trigger, status: status,
            createdAt: try row.date("created_at"), slot: try row.optionalDate("slot"))
    }

    /// Writes a run row as the lifecycle decided: inserted or moved on, with its destinations and the job's newest run.
    private static func persist(_ run: Run, _ change: RunWrite, results: String, on db: any SQLDatabase) async throws {
        if change.inserts {
            try await insertRunRow(run, on: db)
        } else {
            try await db.raw(
                """
                UPDATE runs SET status = \(bind: run.status.rawValue), started_at = \(bind: run.startedAt.milliseconds),
                  finished_at = \(bind: run.finishedAt.milliseconds), bytes_added = \(bind: run.bytesAdded),
                  bytes_processed = \(bind: run.bytesProcessed), files_new = \(bind: run.filesNew), results = \(bind: results),
                  log_excerpt = \(bind: run.logExcerpt)
                WHERE id = \(bind: run.id)
                """
            ).run()
        }
        try await db.raw("DELETE FROM run_destinations WHERE run_id = \(bind: run.id)").run()
        try await writeRunDestinations(run, on: db)
        try await recordLatestRun(id: run.id, on: db)
        if change.finishes {
            try await db.raw("UPDATE runs SET progress = NULL WHERE id = \(bind: run.id)").run()
        }
    }

    /// A backup's first end: its snapshot (dated within the run, copies only at the job's own
    /// destinations) and the copies retention removed.
    private static func recordOutcome(_ event: RunEvent, of run: Run, accountID: String, serverID: String, now: Date, on db: any SQLDatabase)
        async throws
    {
        if var snapshot = event.snapshot, !snapshot.copies.isEmpty,
            try await db.raw("SELECT id FROM snapshots WHERE run_id = \(bind: run.id)").first() == nil
        {
            let destinations = try await db.raw(
                "SELECT destination_id FROM job_destinations WHERE job_id = \(bind: run.jobID) AND account_id = \(bind: accountID)"
            ).all().map { try $0.text("destination_id") }
            snapshot.copies = snapshot.copies.filter { destinations.contains($0.destinationID) }
            snapshot.accountID = accountID
            snapshot.serverID = serverID
            snapshot.runID = run.id
            snapshot.jobID = run.jobID
            snapshot.createdAt = RunLifecycle.snapshotTime(snapshot.createdAt, of: run, now: now)
            if !snapshot.copies.isEmpty { try await insertSnapshot(snapshot, on: db) }
        }
        for pruned in event.pruned {
            try await removePrunedCopies(pruned, jobID: run.jobID, accountID: accountID, on: db)
        }
        if run.trigger == .copy {
            for result in run.results where result.status == .succeeded {
                try await recordCopies(result, jobID: run.jobID, accountID: accountID, on: db)
            }
        }
    }

    /// A copy run's target: each of the job's snapshots it reports there gets a copy row at that
    /// destination (replacing one the same snapshot had there), when the snapshot is this job's
    /// and the destination one of the job's. Snapshots the hub does not list are left out.
    static func recordCopies(_ result: DestinationResult, jobID: String, accountID: String, on db: any SQLDatabase) async throws {
        guard let copied = result.copiedSnapshots, !copied.isEmpty,
            try await db.raw(
                """
                SELECT destination_id FROM job_destinations WHERE job_id = \(bind: jobID) AND account_id = \(bind: accountID)
                  AND destination_id = \(bind: result.destinationID)
                """
            ).first() != nil
        else { return }
        for copy in copied where !copy.resticSnapshotIDs.isEmpty {
            guard
                let row = try await db.raw(
                    """
                    SELECT id, created_at FROM snapshots WHERE account_id = \(bind: accountID) AND job_id = \(bind: jobID)
                      AND run_id = \(bind: copy.runID)
                    """
                ).first()
            else { continue }
            let snapshotID = try row.text("id")
            let total =
                try await db.raw("SELECT MAX(bytes_total) AS total FROM snapshot_copies WHERE snapshot_id = \(bind: snapshotID)").first()?
                .optionalInteger("total") ?? 0
            try await db.raw(
                "DELETE FROM snapshot_copies WHERE snapshot_id = \(bind: snapshotID) AND destination_id = \(bind: result.destinationID)"
            ).run()
            try await db.raw(
                """
                INSERT INTO snapshot_copies (snapshot_id, destination_id, account_id, created_at, restic_ids, bytes_added, bytes_total)
                VALUES (\(bind: snapshotID), \(bind: result.destinationID), \(bind: accountID), \(bind: try row.integer("created_at")),
                        \(bind: try ColumnJSON.encode(copy.resticSnapshotIDs)), 0, \(bind: total))
                """
            ).run()
        }
    }

    /// Drops the copies whose restic snapshots retention removed, and snapshots left with no copy.
    static func removePrunedCopies(_ pruned: PrunedCopies, jobID: String, accountID: String, on db: any SQLDatabase) async throws {
        let removed = Set(pruned.resticSnapshotIDs.map { String($0.prefix(8)) })
        guard !removed.isEmpty else { return }
        let rows = try await db.raw(
            """
            SELECT c.snapshot_id, c.restic_ids FROM snapshot_copies c JOIN snapshots s ON s.id = c.snapshot_id
            WHERE c.account_id = \(bind: accountID) AND c.destination_id = \(bind: pruned.destinationID) AND s.job_id = \(bind: jobID)
            """
        ).all()
        for row in rows {
            let ids = try row.document("restic_ids", as: [String].self).map { String($0.prefix(8)) }
            guard !ids.isEmpty, ids.allSatisfy({ removed.contains($0) }) else { continue }
            let snapshotID = try row.text("snapshot_id")
            try await db.raw("DELETE FROM snapshot_copies WHERE snapshot_id = \(bind: snapshotID) AND destination_id = \(bind: pruned.destinationID)")
                .run()
            try await db.raw(
                "DELETE FROM snapshot_entries WHERE snapshot_id = \(bind: snapshotID) AND destination_id = \(bind: pruned.destinationID)"
            ).run()
            try await db.raw(
                "DELETE FROM snapshot_listings WHERE snapshot_id = \(bind: snapshotID) AND destination_id = \(bind: pruned.destinationID)"
            ).run()
            if try await db.raw("SELECT snapshot_id FROM snapshot_copies WHERE snapshot_id = \(bind: snapshotID)").first() == nil {
                try await db.raw("DELETE FROM snapshots WHERE id = \(bind: snapshotID)").run()
            }
        }
    }

    public func enqueueCommand(_ command: AgentCommand, accountID: String, serverID: String) async throws {
        try await write { db in try await Self.insertCommand(command, accountID: accountID, serverID: serverID, on: db) }
        await commandBell.ring(serverID)
    }

    static func insertCommand(_ command: AgentCommand, accountID: String, serverID: String, on db: any SQLDatabase) async throws {
        try await db.raw(
            """
            INSERT INTO agent_commands (id, account_id, server_id, kind, job_id, run_id, slot, created_at, payload)
            VALUES (\(bind: command.id), \(bind: accountID), \(bind: serverID), \(bind: command.kind.rawValue), \(bind: command.jobID),
                    \(bind: command.runID), \(bind: command.slot.milliseconds), \(bind: command.createdAt.millisecondsSince1970),
                    \(bind: try Self.commandPayload(command)))
            """
        ).run()
        // Other replicas' polls wake when this commits (this process's bell rings after the commit).
        try await CommandNotifications.notify(serverID, on: db)
    }

    public func pendingCommands(serverID: String) async throws -> [AgentCommand] {
        try await read { db in
            try await db.raw(
                "SELECT * FROM agent_commands WHERE server_id = \(bind: serverID) AND acked_at IS NULL ORDER BY created_at, id LIMIT 100"
            ).all().compactMap { row in
                guard let kind = AgentCommand.Kind(rawValue: try row.text("kind")) else { return nil }
                return AgentCommand(
                    id: try row.text("id"), kind: kind, jobID: try row.optionalText("job_id"), runID: try row.optionalText("run_id"),
                    slot: try row.optionalDate("slot"), createdAt: try row.date("created_at"),
                    restore: try payload(row)?.restore, listing: try payload(row)?.listing, download: try payload(row)?.download,
                    upgrade: try payload(row)?.upgrade, copy: try payload(row)?.copy)
            }
        }
    }

    public func ackCommand(serverID: String, id: String, at: Date) async throws -> Bool {
        try await write { db in
            guard try await db.raw("SELECT id FROM agent_commands WHERE id = \(bind: id) AND server_id = \(bind: serverID)").first() != nil else {
                return false
            }
            try await db.raw("UPDATE agent_commands SET acked_at = \(bind: at.millisecondsSince1970) WHERE id = \(bind: id) AND acked_at IS NULL")
                .run()
            return true
        }
    }
}

/// The orders a command carries, stored as one JSON column.
struct CommandPayload: Codable {
    var restore: RestoreOrder?
    var listing: ListingOrder?
    var download: DownloadOrder?
    var upgrade: UpgradeOrder?
    var copy: CopyPlan?
}

extension SQLHubStore {
    static func commandPayload(_ command: AgentCommand) throws -> String? {
        guard command.restore != nil || command.listing != nil || command.download != nil || command.upgrade != nil || command.copy != nil
        else { return nil }
        return try ColumnJSON.encode(
            CommandPayload(
                restore: command.restore, listing: command.listing, download: command.download, upgrade: command.upgrade, copy: command.copy))
    }
}

private func payload(_ row: any SQLRow) throws -> CommandPayload? {
    try row.optionalText("payload").map { try ColumnJSON.decode(CommandPayload.self, $0, column: "payload") }
}
