import BackupCore
import Foundation
import SQLKit

extension SQLHubStore {
    /// Every job's status in one narrow query (no JSON documents, no destination lists); with
    /// `jobIDs`, only those jobs.
    public func jobStatuses(accountID: String, jobIDs: [String]? = nil) async throws -> [JobStatus] {
        if let jobIDs, jobIDs.isEmpty { return [] }
        return try await jobStatuses(accountID: accountID, filter: jobIDs.map { ("id", $0) })
    }

    public func jobStatuses(accountID: String, serverIDs: [String]) async throws -> [JobStatus] {
        if serverIDs.isEmpty { return [] }
        return try await jobStatuses(accountID: accountID, filter: ("server_id", serverIDs))
    }

    /// `filter`: a column (`id` or `server_id`) and the values it may have.
    private func jobStatuses(accountID: String, filter: (column: String, values: [String])?) async throws -> [JobStatus] {
        var query = SQLQueryString(
            """
            SELECT id, server_id, name, kind, enabled, schedule_calendar, schedule_time_zone, created_at, stale_after,
                   last_run_id, last_run_status, last_run_slot, last_run_created_at, last_run_finished_at, protected_at, protected_bytes,
                   drill_every, drill_since, last_drill_id, last_drill_status, last_drill_created_at, last_drill_finished_at, proven_at,
                   backup_window, spread_seconds
            FROM jobs WHERE account_id = \(bind: accountID)
            """)
        if let filter { query = query + " AND \(unsafeRaw: filter.column) IN (\(binds: filter.values))" }
        return try await readRows(query + " ORDER BY name, id") { try Self.jobStatus($0) }
    }

    static func jobStatus(_ row: any StoreRow) throws -> JobStatus {
        var latest: RunBrief?
        if let id = try row.optionalText("last_run_id"), let created = try row.optionalDate("last_run_created_at") {
            guard let status = RunStatus(rawValue: try row.text("last_run_status")) else {
                throw StoreError.corrupt("jobs.last_run_status holds an unknown status")
            }
            latest = RunBrief(
                id: id, status: status, slot: try row.optionalDate("last_run_slot"), createdAt: created,
                finishedAt: try row.optionalDate("last_run_finished_at"))
        }
        var status = JobStatus(
            id: try row.text("id"), serverID: try row.text("server_id"), name: try row.text("name"),
            kind: JobKind(rawValue: try row.text("kind")) ?? .full, enabled: try row.integer("enabled") != 0,
            schedule: Schedule(storedCalendar: try row.text("schedule_calendar"), timeZone: try row.text("schedule_time_zone")),
            createdAt: try row.date("created_at"), staleAfter: try row.optionalInteger("stale_after").map(Int.init),
            latestRun: latest, newestSnapshotAt: try row.optionalDate("protected_at"), protectedBytes: try row.integer("protected_bytes"))
        status.drillEvery = try row.optionalInteger("drill_every").map(Int.init)
        status.provenAt = try row.optionalDate("proven_at")
        status.drillSince = try row.optionalDate("drill_since")
        status.window = try row.optionalText("backup_window").flatMap { try? BackupWindow.parse($0) }
        status.spreadSeconds = try row.optionalInteger("spread_seconds").map(Int.init)
        if let id = try row.optionalText("last_drill_id"), let created = try row.optionalDate("last_drill_created_at"),
            let drillStatus = RunStatus(rawValue: try row.text("last_drill_status"))
        {
            status.lastDrill = RunBrief(
                id: id, status: drillStatus, slot: nil, createdAt: created, finishedAt: try row.optionalDate("last_drill_finished_at"))
        }
        return status
    }

    /// Keeps the job's newest-drill columns and `proven_at` (the end of its newest passing drill) in step.
    static func recordLatestDrill(id runID: String, on db: any SQLDatabase) async throws {
        guard
            let row = try await db.raw(
                "SELECT job_id, status, created_at, finished_at FROM runs WHERE id = \(bind: runID) AND trigger = 'drill'"
            ).first()
        else { return }
        let created = try row.integer("created_at")
        let jobID = try row.text("job_id")
        let status = try row.text("status")
        let finished = try row.optionalInteger("finished_at")
        try await db.raw(
            """
            UPDATE jobs SET last_drill_id = \(bind: runID), last_drill_status = \(bind: status),
              last_drill_created_at = \(bind: created), last_drill_finished_at = \(bind: finished)
            WHERE id = \(bind: jobID)
              AND (last_drill_id IS NULL OR last_drill_id = \(bind: runID) OR last_drill_created_at < \(bind: created)
                   OR (last_drill_created_at = \(bind: created) AND last_drill_id < \(bind: runID)))
            """
        ).run()
        if status == RunStatus.succeeded.rawValue, let finished {
            try await db.raw(
                "UPDATE jobs SET proven_at = \(bind: finished) WHERE id = \(bind: jobID) AND (proven_at IS NULL OR proven_at < \(bind: finished))"
            ).run()
        }
    }

    /// Fills every job's newest-run columns from the run history (the schema step that added them,
    /// and bulk loads that bypass ingestion).
    public static let latestRunBackfill = [
        "UPDATE jobs SET last_run_id = (SELECT r.id FROM runs r WHERE r.job_id = jobs.id AND r.trigger NOT IN ('restore', 'drill') ORDER BY r.created_at DESC, r.id DESC LIMIT 1)",
        """
        UPDATE jobs SET last_run_status = (SELECT status FROM runs WHERE runs.id = jobs.last_run_id),
          last_run_slot = (SELECT slot FROM runs WHERE runs.id = jobs.last_run_id),
          last_run_created_at = (SELECT created_at FROM runs WHERE runs.id = jobs.last_run_id),
          last_run_finished_at = (SELECT finished_at FROM runs WHERE runs.id = jobs.last_run_id)
        WHERE last_run_id IS NOT NULL
        """,
    ]

    /// Keeps the job's newest-run columns in step after a run was written: the stored run row is
    /// read back so the job shows exactly what the run history holds.
    static func recordLatestRun(id runID: String, on db: any SQLDatabase) async throws {
        try await recordLatestDrill(id: runID, on: db)
        // Restores are runs of the job whose snapshot they restore, but say nothing of its backups.
        guard
            let row = try await db.raw(
                "SELECT job_id, status, slot, created_at, finished_at FROM runs WHERE id = \(bind: runID) AND trigger NOT IN ('restore', 'drill')"
            ).first()
        else { return }
        let created = try row.integer("created_at")
        try await db.raw(
            """
            UPDATE jobs SET last_run_id = \(bind: runID), last_run_status = \(bind: try row.text("status")), last_run_slot = \(bind: try row.optionalInteger("slot")),
              last_run_created_at = \(bind: created), last_run_finished_at = \(bind: try row.optionalInteger("finished_at"))
            WHERE id = \(bind: try row.text("job_id"))
              AND (last_run_id IS NULL OR last_run_id = \(bind: runID) OR last_run_created_at < \(bind: created)
                   OR (last_run_created_at = \(bind: created) AND last_run_id < \(bind: runID)))
            """
        ).run()
    }
}
