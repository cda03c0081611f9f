import BackupCore
import Foundation
import LinkProtocol
import SQLKit

extension SQLHubStore {
    public func insertRun(_ run: Run) async throws {
        do {
            try await write { db in
                try await Self.insertRunRow(run, on: db)
                try await Self.writeRunDestinations(run, on: db)
                try await Self.recordLatestRun(id: run.id, on: db)
            }
        } catch StoreError.duplicate {
            throw DomainError.conflict("slot", "job \(run.jobID) already has a run for this slot or this run id")
        }
    }

    /// The one INSERT of a run row (API, run now, restores and agents' events).
    static func insertRunRow(_ run: Run, on db: any SQLDatabase) async throws {
        try await db.raw(
            """
            INSERT INTO runs (id, account_id, server_id, job_id, trigger, slot, status, created_at, started_at, finished_at,
                              bytes_added, bytes_processed, files_new, results, log_excerpt, restore, signature)
            VALUES (\(bind: run.id), \(bind: run.accountID), \(bind: run.serverID), \(bind: run.jobID), \(bind: run.trigger.rawValue),
                    \(bind: run.slot.milliseconds), \(bind: run.status.rawValue), \(bind: run.createdAt.millisecondsSince1970),
                    \(bind: run.startedAt.milliseconds), \(bind: run.finishedAt.milliseconds), \(bind: run.bytesAdded),
                    \(bind: run.bytesProcessed), \(bind: run.filesNew), \(bind: try ColumnJSON.encode(run.results)), \(bind: run.logExcerpt),
                    \(bind: try run.restore.map(ColumnJSON.encode)), \(bind: try run.signature.map(ColumnJSON.encode)))
            """
        ).run()
    }

    public func queueRun(_ run: Run, command: AgentCommand) async throws {
        try await write { db in
            // The check and the insert in one transaction: two clicks cannot queue two runs. Touching the
            // job's row first holds its lock on PostgreSQL until commit, so a concurrent run-now waits
            // here and then sees this run (each statement reads what is committed); SQLite has one writer.
            // A scheduled run that waits for its window does not count: run now is never held by the window.
            try await db.raw("UPDATE jobs SET updated_at = updated_at WHERE id = \(bind: run.jobID) AND account_id = \(bind: run.accountID)").run()
            if let active = try await db.raw(
                """
                SELECT id, status FROM runs WHERE job_id = \(bind: run.jobID) AND account_id = \(bind: run.accountID)
                  AND status IN ('queued', 'running') AND trigger NOT IN ('restore', 'drill')
                  AND NOT (trigger <> 'manual' AND progress IS NOT NULL AND progress LIKE '%"reason":"window"%') LIMIT 1
                """
            ).first() {
                throw DomainError.conflict("job", "already has a \(try active.text("status")) run (\(try active.text("id"))); wait for it to finish")
            }
            try await Self.insertRunRow(run, on: db)
            try await Self.writeRunDestinations(run, on: db)
            try await Self.recordLatestRun(id: run.id, on: db)
            try await Self.insertCommand(command, accountID: run.accountID, serverID: run.serverID, on: db)
        }
        await commandBell.ring(run.serverID)
    }

    /// Stores a restore run's signed manifest and queues its order in one transaction, only while
    /// the run is queued and awaiting its signature (false otherwise: signed meanwhile, or cancelled).
    public func approveRestore(_ run: Run, manifest: SignedManifest, command: AgentCommand) async throws -> Bool {
        let signed = try ColumnJSON.encode(RunSignature(state: .signed, manifest: manifest))
        let approved = try await write { db in
            guard
                let row = try await db.raw(
                    "SELECT status, signature FROM runs WHERE id = \(bind: run.id) AND account_id = \(bind: run.accountID)"
                ).first(),
                try row.text("status") == RunStatus.queued.rawValue,
                try row.optionalText("signature").map({ try ColumnJSON.decode(RunSignature.self, $0, column: "signature") })?.state == .awaiting
            else { return false }
            try await db.raw("UPDATE runs SET signature = \(bind: signed) WHERE id = \(bind: run.id) AND account_id = \(bind: run.accountID)").run()
            try await Self.insertCommand(command, accountID: run.accountID, serverID: run.serverID, on: db)
            return true
        }
        if approved { await commandBell.ring(run.serverID) }
        return approved
    }

    public func updateRun(_ run: Run) async throws {
        let results = try ColumnJSON.encode(run.results)
        try await write { db in
            guard try await db.raw("SELECT id FROM runs WHERE id = \(bind: run.id) AND account_id = \(bind: run.accountID)").first() != nil else {
                throw DomainError.notFound("run", run.id)
            }
            try await db.raw(
                """
                UPDATE runs SET status = \(bind: run.status.rawValue), started_at = \(bind: run.startedAt.milliseconds),
                  finished_at = \(bind: run.finishedAt.milliseconds), bytes_added = \(bind: run.bytesAdded),
                  bytes_processed = \(bind: run.bytesProcessed), files_new = \(bind: run.filesNew), results = \(bind: results),
                  log_excerpt = \(bind: run.logExcerpt)
                WHERE id = \(bind: run.id) AND account_id = \(bind: run.accountID)
                """
            ).run()
            try await db.raw("DELETE FROM run_destinations WHERE run_id = \(bind: run.id)").run()
            try await Self.writeRunDestinations(run, on: db)
            try await Self.recordLatestRun(id: run.id, on: db)
        }
    }

    public func run(accountID: String, id: String) async throws -> Run? {
        try await read { db in
            try await db.raw("SELECT * FROM runs WHERE account_id = \(bind: accountID) AND id = \(bind: id)").first().map(Self.run)
        }
    }

    public func runs(accountID: String, filter: RunFilter, after cursor: Cursor?, limit: Int) async throws -> Page<Run> {
        try await read { db in
            // With a destination filter, walk that destination's index of runs; otherwise the runs table's.
            var query: SQLQueryString
            // Order by the columns of the index being walked so the database can stop after one page.
            var order = SQLQueryString(" ORDER BY r.created_at DESC, r.id DESC")
            if let destinationID = filter.destinationID {
                order = " ORDER BY rd.created_at DESC, rd.run_id DESC"
                query =
                    "SELECT r.* FROM run_destinations rd JOIN runs r ON r.id = rd.run_id WHERE rd.account_id = \(bind: accountID) AND rd.destination_id = \(bind: destinationID)"
                query = query + Self.keyset(cursor: cursor, since: filter.since, until: filter.until, alias: "rd", idColumn: "run_id")
            } else {
                query = "SELECT r.* FROM runs r WHERE r.account_id = \(bind: accountID)"
                query = query + Self.keyset(cursor: cursor, since: filter.since, until: filter.until, alias: "r", idColumn: "id")
            }
            if let serverID = filter.serverID { query = query + " AND r.server_id = \(bind: serverID)" }
            if let jobID = filter.jobID { query = query + " AND r.job_id = \(bind: jobID)" }
            if let status = filter.status { query = query + " AND r.status = \(bind: status.rawValue)" }
            query = query + order + " LIMIT \(literal: limit + 1)"
            let runs = try await db.raw(query).all().map(Self.run)
            return Self.page(runs, limit: limit) { Cursor(createdAt: $0.createdAt, id: $0.id) }
        }
    }

    /// `AND` conditions that seek past a cursor and bound the time range, on `alias`'s columns.
    static func keyset(cursor: Cursor?, since: Date?, until: Date?, alias: String, idColumn: String) -> SQLQueryString {
        var text = SQLQueryString("")
        if let cursor {
            let ms = cursor.createdAt.millisecondsSince1970
            text = text + " AND (\(unsafeRaw: alias).created_at, \(unsafeRaw: alias).\(unsafeRaw: idColumn)) < (\(bind: ms), \(bind: cursor.id))"
        }
        if let since { text = text + " AND \(unsafeRaw: alias).created_at >= \(bind: since.millisecondsSince1970)" }
        if let until { text = text + " AND \(unsafeRaw: alias).created_at < \(bind: until.millisecondsSince1970)" }
        return text
    }

    static func page<T>(_ items: [T], limit: Int, cursor: (T) -> Cursor) -> Page<T> {
        guard items.count > limit else { return Page(items: items, nextCursor: nil) }
        let kept = Array(items.prefix(limit))
        return Page(items: kept, nextCursor: kept.last.map(cursor))
    }

    static func writeRunDestinations(_ run: Run, on db: any SQLDatabase) async throws {
        for result in run.results {
            try await db.raw(
                """
                INSERT INTO run_destinations (run_id, destination_id, account_id, created_at)
                VALUES (\(bind: run.id), \(bind: result.destinationID), \(bind: run.accountID), \(bind: run.createdAt.millisecondsSince1970))
                """
            ).run()
        }
    }

    static func run(_ row: any SQLRow) throws -> Run {
        guard let trigger = RunTrigger(rawValue: try row.text("trigger")), let status = RunStatus(rawValue: try row.text("status")) else {
            throw StoreError.corrupt("runs holds an unknown trigger or status")
        }
        return Run(
            id: try row.text("id"), accountID: try row.text("account_id"), serverID: try row.text("server_id"), jobID: try row.text("job_id"),
            trigger: trigger, slot: try row.optionalDate("slot"), status: status, createdAt: try row.date("created_at"),
            startedAt: try row.optionalDate("started_at"), finishedAt: try row.optionalDate("finished_at"),
            bytesAdded: try row.integer("bytes_added"), bytesProcessed: try row.integer("bytes_processed"), filesNew: try row.integer("files_new"),
            results: try row.document("results", as: [DestinationResult].self), logExcerpt: try row.optionalText("log_excerpt"),
            progress: try row.optionalText("progress").flatMap { try? ColumnJSON.decode(RunProgress.self, $0, column: "progress") },
            restore: try row.optionalText("restore").map { try ColumnJSON.decode(RestorePlan.self, $0, column: "restore") },
            signature: try row.optionalText("signature").map { try ColumnJSON.decode(RunSignature.self, $0, column: "signature") }
        )
    }
}
