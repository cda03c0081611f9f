import BackupCore
import Foundation
import SQLKit

extension SQLHubStore {
    public func lastRuns(accountID: String, jobIDs: [String]) async throws -> [String: Run] {
        guard !jobIDs.isEmpty else { return [:] }
        return try await read { db in
            // Each job row names its newest run (kept as runs are recorded).
            let rows = try await db.raw(
                """
                SELECT r.* FROM jobs j JOIN runs r ON r.id = j.last_run_id
                WHERE j.account_id = \(bind: accountID) AND j.id IN (\(binds: jobIDs))
                """
            ).all()
            return Dictionary(try rows.map(Self.run).map { ($0.jobID, $0) }) { first, _ in first }
        }
    }

    /// How many of the account's runs are in each unfinished state (queued, running): counted, not listed.
    public func unfinishedRunCounts(accountID: String) async throws -> [RunStatus: Int] {
        try await read { db in
            var counts: [RunStatus: Int] = [:]
            for row in try await db.raw(
                """
                SELECT status, COUNT(*) AS n FROM runs WHERE account_id = \(bind: accountID) AND status IN ('queued', 'running') GROUP BY status
                """
            ).all() {
                if let status = RunStatus(rawValue: try row.text("status")) { counts[status] = Int(try row.integer("n")) }
            }
            return counts
        }
    }

    public func schedulableJobs() async throws -> [Job] {
        try await read { db in
            try await Self.loadJobs(on: db, where: "j.enabled = 1 AND j.server_id IN (SELECT id FROM servers WHERE enrolled_at IS NOT NULL)")
        }
    }

    public func hasRun(jobID: String, slot: Date) async throws -> Bool {
        try await read { db in
            try await db.raw("SELECT id FROM runs WHERE job_id = \(bind: jobID) AND slot = \(bind: slot.millisecondsSince1970)").first() != nil
        }
    }
}
