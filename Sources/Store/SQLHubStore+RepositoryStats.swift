import BackupCore
import Foundation
import SQLKit

extension SQLHubStore {
    public func recordRepositoryStats(_ point: RepositoryStatsPoint, accountID: String, destinationID: String) async throws {
        try await write { db in
            try await db.raw(
                """
                INSERT INTO repository_stats (account_id, destination_id, server_id, run_id, measured_at, total_bytes, stored_bytes, snapshot_count)
                VALUES (\(bind: accountID), \(bind: destinationID), \(bind: point.serverID), \(bind: point.runID),
                        \(bind: point.measuredAt.millisecondsSince1970), \(bind: point.stats.totalBytes), \(bind: point.stats.storedBytes),
                        \(bind: Int64(point.stats.snapshotCount)))
                """
            ).run()
        }
    }

    public func repositoryStats(accountID: String, destinationID: String, since: Date, limit: Int) async throws -> [RepositoryStatsPoint] {
        try await read { db in
            let rows = try await db.raw(
                """
                SELECT * FROM repository_stats WHERE account_id = \(bind: accountID) AND destination_id = \(bind: destinationID)
                  AND measured_at >= \(bind: since.millisecondsSince1970)
                ORDER BY measured_at DESC, run_id DESC LIMIT \(literal: limit)
                """
            ).all()
            return try rows.map { row in
                RepositoryStatsPoint(
                    serverID: try row.text("server_id"), runID: try row.text("run_id"), measuredAt: try row.date("measured_at"),
                    stats: RepositoryStats(
                        totalBytes: try row.integer("total_bytes"), storedBytes: try row.integer("stored_bytes"),
                        snapshotCount: Int(try row.integer("snapshot_count"))))
            }.reversed()
        }
    }
}
