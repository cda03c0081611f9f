import BackupCore
import Foundation
import SQLKit

extension SQLHubStore {
    public func lastRuns(accountID: String, jobIDs: [String]) async throws -> [String: Run] {
        guard !jobIDs.isEmpty else { return [:] }
        return try await read { db in
            let rows = try await db.raw("""
                SELECT r.* FROM runs r
                WHERE r.account_id = \(bind: accountID) AND r.job_id IN (\(binds: jobIDs))
                  AND r.created_at = (SELECT MAX(x.created_at) FROM runs x WHERE x.account_id = r.account_id AND x.job_id = r.job_id)
                """).all()
            var newest: [String: Run] = [:]
            for run in try rows.map(Self.run) where newest[run.jobID].map({ $0.id < run.id }) ?? true {
                newest[run.jobID] = run
            }
            return newest
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
