import BackupCore
import Foundation
import SQLKit

extension SQLHubStore {
    public func createJob(_ job: Job) async throws {
        let documents = try Self.jobDocuments(job)
        try await write { db in
            try await Self.refuseDuplicateJobName(job, on: db)
            try await db.raw(
                """
                INSERT INTO jobs (id, account_id, server_id, name, kind, sources, schedule_calendar, schedule_time_zone, retention, enabled, created_at, updated_at, stale_after, check_subsets, ping_url, manifest, hooks, destination_retention, drill, drill_every, drill_since, backup_window, spread_seconds)
                VALUES (\(bind: job.id), \(bind: job.accountID), \(bind: job.serverID), \(bind: job.name), \(bind: job.kind.rawValue), \(bind: documents.sources),
                        \(bind: job.schedule.calendar), \(bind: job.schedule.timeZone), \(bind: documents.retention), \(bind: job.enabled ? 1 : 0),
                        \(bind: job.createdAt.millisecondsSince1970), \(bind: job.updatedAt.millisecondsSince1970), \(bind: job.staleAfter), \(bind: job.checkSubsets), \(bind: job.pingURL),
                        \(bind: try job.manifest.map(ColumnJSON.encode)), \(bind: try job.hooks.map(ColumnJSON.encode)),
                        \(bind: try job.destinationRetention.map(ColumnJSON.encode)), \(bind: try job.drill.map(ColumnJSON.encode)),
                        \(bind: job.drill.map { Int64($0.frequency.interval) }), \(bind: job.drill.map { _ in job.createdAt.millisecondsSince1970 }),
                        \(bind: job.window?.text), \(bind: job.spreadSeconds.map(Int64.init)))
                """
            ).run()
            try await Self.writeJobDestinations(job, on: db)
        }
    }

    public func updateJob(_ job: Job) async throws {
        let documents = try Self.jobDocuments(job)
        try await write { db in
            guard try await db.raw("SELECT id FROM jobs WHERE id = \(bind: job.id) AND account_id = \(bind: job.accountID)").first() != nil else {
                throw DomainError.notFound("job", job.id)
            }
            try await Self.refuseDuplicateJobName(job, on: db)
            try await db.raw(
                """
                UPDATE jobs SET name = \(bind: job.name), kind = \(bind: job.kind.rawValue), sources = \(bind: documents.sources),
                  schedule_calendar = \(bind: job.schedule.calendar), schedule_time_zone = \(bind: job.schedule.timeZone),
                  retention = \(bind: documents.retention), enabled = \(bind: job.enabled ? 1 : 0), updated_at = \(bind: job.updatedAt.millisecondsSince1970),
                  stale_after = \(bind: job.staleAfter), check_subsets = \(bind: job.checkSubsets), ping_url = \(bind: job.pingURL),
                  manifest = \(bind: try job.manifest.map(ColumnJSON.encode)), hooks = \(bind: try job.hooks.map(ColumnJSON.encode)),
                  destination_retention = \(bind: try job.destinationRetention.map(ColumnJSON.encode)),
                  drill = \(bind: try job.drill.map(ColumnJSON.encode)), drill_every = \(bind: job.drill.map { Int64($0.frequency.interval) }),
                  drill_since = CASE WHEN \(bind: job.drill == nil ? 0 : 1) = 0 THEN NULL
                                     WHEN drill_since IS NULL THEN \(bind: job.updatedAt.millisecondsSince1970) ELSE drill_since END,
                  backup_window = \(bind: job.window?.text), spread_seconds = \(bind: job.spreadSeconds.map(Int64.init))
                WHERE id = \(bind: job.id) AND account_id = \(bind: job.accountID)
                """
            ).run()
            try await db.raw("DELETE FROM job_destinations WHERE job_id = \(bind: job.id)").run()
            try await Self.writeJobDestinations(job, on: db)
        }
    }

    /// Stores a job's signed manifest, unless the job changed after `unchangedSince` (then false:
    /// the signer saw an older job).
    public func setJobManifest(accountID: String, id: String, manifest: SignedManifest, unchangedSince: Date) async throws -> Bool {
        let text = try ColumnJSON.encode(manifest)
        return try await write { db in
            guard
                try await db.raw(
                    "SELECT id FROM jobs WHERE id = \(bind: id) AND account_id = \(bind: accountID) AND updated_at = \(bind: unchangedSince.millisecondsSince1970)"
                ).first() != nil
            else { return false }
            try await db.raw("UPDATE jobs SET manifest = \(bind: text) WHERE id = \(bind: id) AND account_id = \(bind: accountID)").run()
            return true
        }
    }

    public func job(accountID: String, id: String) async throws -> Job? {
        try await read { db in
            try await Self.loadJobs(on: db, where: "j.account_id = \(bind: accountID) AND j.id = \(bind: id)").first
        }
    }

    public func jobs(accountID: String, reference: String, serverID: String?) async throws -> [Job] {
        try await read { db in
            var condition = SQLQueryString("j.account_id = \(bind: accountID) AND (j.id = \(bind: reference) OR j.name = \(bind: reference))")
            if let serverID { condition = condition + " AND j.server_id = \(bind: serverID)" }
            return try await Self.loadJobs(on: db, where: condition)
        }
    }

    public func jobs(accountID: String, serverID: String?, destinationID: String?) async throws -> [Job] {
        try await read { db in
            try await Self.loadJobs(on: db, where: Self.jobFilter(accountID: accountID, serverID: serverID, destinationID: destinationID))
        }
    }

    public func jobs(accountID: String, serverID: String?, destinationID: String?, after cursor: Cursor?, limit: Int) async throws -> Page<Job> {
        try await read { db in
            let condition =
                Self.jobFilter(accountID: accountID, serverID: serverID, destinationID: destinationID)
                + Self.keyset(cursor: cursor, since: nil, until: nil, alias: "j", idColumn: "id")
            let jobs = try await Self.loadJobs(on: db, where: condition, order: "j.created_at DESC, j.id DESC", limit: limit + 1)
            return Self.page(jobs, limit: limit) { Cursor(createdAt: $0.createdAt, id: $0.id) }
        }
    }

    /// These jobs (those of the account), with their documents and destinations.
    public func jobs(accountID: String, ids: [String]) async throws -> [Job] {
        guard !ids.isEmpty else { return [] }
        return try await read { db in
            try await Self.loadJobs(on: db, where: "j.account_id = \(bind: accountID) AND j.id IN (\(binds: ids))")
        }
    }

    /// The ids of the jobs writing to a destination.
    public func jobIDs(accountID: String, destinationID: String) async throws -> Set<String> {
        try await read { db in
            Set(
                try await db.raw(
                    """
                    SELECT job_id FROM job_destinations WHERE account_id = \(bind: accountID) AND destination_id = \(bind: destinationID)
                    """
                ).all().map { try $0.text("job_id") })
        }
    }

    public func deleteJob(accountID: String, id: String) async throws -> Bool {
        try await write { db in
            guard try await db.raw("SELECT id FROM jobs WHERE id = \(bind: id) AND account_id = \(bind: accountID)").first() != nil else {
                return false
            }
            try await db.raw("DELETE FROM job_destinations WHERE job_id = \(bind: id)").run()
            try await db.raw("DELETE FROM jobs WHERE id = \(bind: id)").run()
            return true
        }
    }

    /// Loads jobs and their destination lists with two queries, whatever the number of jobs.
    static func loadJobs(on db: any SQLDatabase, where condition: SQLQueryString, order: String = "j.name, j.id", limit: Int? = nil) async throws
        -> [Job]
    {
        var query = "SELECT j.* FROM jobs j WHERE " + condition + " ORDER BY \(unsafeRaw: order)"
        if let limit { query = query + " LIMIT \(literal: limit)" }
        let rows = try await db.raw(query).all()
        guard !rows.isEmpty else { return [] }
        let ids = try rows.map { try $0.text("id") }
        let links = try await db.raw(
            """
            SELECT job_id, destination_id FROM job_destinations WHERE job_id IN (\(binds: ids)) ORDER BY job_id, position
            """
        ).all()
        var destinations: [String: [String]] = [:]
        for link in links { destinations[try link.text("job_id"), default: []].append(try link.text("destination_id")) }
        let decoder = JSONDecoder()
        return try rows.map { row in
            let id = try row.text("id")
            guard let kind = JobKind(rawValue: try row.text("kind")) else { throw StoreError.corrupt("jobs.kind holds an unknown kind") }
            return Job(
                id: id, accountID: try row.text("account_id"), serverID: try row.text("server_id"), name: try row.text("name"), kind: kind,
                sources: try row.document("sources", as: JobSources.self, decoder: decoder),
                schedule: Schedule(storedCalendar: try row.text("schedule_calendar"), timeZone: try row.text("schedule_time_zone")),
                retention: try row.document("retention", as: RetentionPolicy.self, decoder: decoder), destinationIDs: destinations[id] ?? [],
                enabled: try row.integer("enabled") != 0, createdAt: try row.date("created_at"), updatedAt: try row.date("updated_at"),
                staleAfter: try row.optionalInteger("stale_after").map(Int.init),
                checkSubsets: try row.optionalInteger("check_subsets").map(Int.init),
                pingURL: try row.optionalText("ping_url"),
                manifest: try row.optionalText("manifest").map { try ColumnJSON.decode(SignedManifest.self, $0, column: "manifest") },
                hooks: try row.optionalText("hooks").map { try ColumnJSON.decode(JobHooks.self, $0, column: "hooks") },
                destinationRetention: try row.optionalText("destination_retention").map {
                    try ColumnJSON.decode([DestinationRetention].self, $0, column: "destination_retention")
                },
                drill: try row.optionalText("drill").map { try ColumnJSON.decode(JobDrill.self, $0, column: "drill") },
                window: try row.optionalText("backup_window").map { text in
                    guard let window = try? BackupWindow.parse(text) else { throw StoreError.corrupt("jobs.backup_window holds \"\(text)\"") }
                    return window
                },
                spreadSeconds: try row.optionalInteger("spread_seconds").map(Int.init)
            )
        }
    }

    /// The account's jobs, optionally of one server and writing to one destination.
    static func jobFilter(accountID: String, serverID: String?, destinationID: String?) -> SQLQueryString {
        var condition = SQLQueryString("j.account_id = \(bind: accountID)")
        if let serverID { condition = condition + " AND j.server_id = \(bind: serverID)" }
        if let destinationID {
            // EXISTS lets the database walk jobs in index order and stop after one page.
            condition =
                condition + " AND EXISTS (SELECT 1 FROM job_destinations jd WHERE jd.job_id = j.id AND jd.destination_id = \(bind: destinationID))"
        }
        return condition
    }

    static func jobDocuments(_ job: Job) throws -> (sources: String, retention: String) {
        (try ColumnJSON.encode(job.sources), try ColumnJSON.encode(job.retention))
    }

    static func refuseDuplicateJobName(_ job: Job, on db: any SQLDatabase) async throws {
        if try await db.raw("SELECT id FROM jobs WHERE server_id = \(bind: job.serverID) AND name = \(bind: job.name) AND id <> \(bind: job.id)")
            .first() != nil
        {
            throw DomainError.conflict("name", "this server already has a job named \"\(job.name)\"; choose another name")
        }
    }

    static func writeJobDestinations(_ job: Job, on db: any SQLDatabase) async throws {
        for (position, destinationID) in job.destinationIDs.enumerated() {
            try await db.raw(
                """
                INSERT INTO job_destinations (job_id, destination_id, account_id, position)
                VALUES (\(bind: job.id), \(bind: destinationID), \(bind: job.accountID), \(bind: position))
                """
            ).run()
        }
    }
}
