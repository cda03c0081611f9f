import BackupCore
import Foundation
import SQLKit

extension SQLHubStore {
    public func insertSnapshot(_ snapshot: Snapshot) async throws {
        do {
            try await write { db in try await Self.insertSnapshot(snapshot, on: db) }
        } catch StoreError.duplicate {
            throw DomainError.conflict("runID", "run \(snapshot.runID) already has a snapshot")
        }
    }

    static func insertSnapshot(_ snapshot: Snapshot, on db: any SQLDatabase) async throws {
        let total = snapshot.copies.map(\.bytesTotal).max() ?? 0
        let stack = try snapshot.stack.map(ColumnJSON.encode)
        try await db.raw(
            """
            INSERT INTO snapshots (id, account_id, server_id, job_id, run_id, created_at, bytes_total, stack)
            VALUES (\(bind: snapshot.id), \(bind: snapshot.accountID), \(bind: snapshot.serverID), \(bind: snapshot.jobID),
                    \(bind: snapshot.runID), \(bind: snapshot.createdAt.millisecondsSince1970), \(bind: total), \(bind: stack))
            """
        ).run()
        try await db.raw(
            """
            UPDATE jobs SET protected_bytes = \(bind: total), protected_at = \(bind: snapshot.createdAt.millisecondsSince1970)
            WHERE id = \(bind: snapshot.jobID) AND account_id = \(bind: snapshot.accountID)
              AND (protected_at IS NULL OR protected_at <= \(bind: snapshot.createdAt.millisecondsSince1970))
            """
        ).run()
        for copy in snapshot.copies {
            let ids = try ColumnJSON.encode(copy.resticSnapshotIDs)
            try await db.raw(
                """
                INSERT INTO snapshot_copies (snapshot_id, destination_id, account_id, created_at, restic_ids, bytes_added, bytes_total)
                VALUES (\(bind: snapshot.id), \(bind: copy.destinationID), \(bind: snapshot.accountID), \(bind: snapshot.createdAt.millisecondsSince1970),
                        \(bind: ids), \(bind: copy.bytesAdded), \(bind: copy.bytesTotal))
                """
            ).run()
        }
    }

    public func snapshot(accountID: String, id: String) async throws -> Snapshot? {
        try await read { db in
            let rows = try await db.raw("SELECT s.* FROM snapshots s WHERE s.account_id = \(bind: accountID) AND s.id = \(bind: id)").all()
            return try await Self.withCopies(rows, on: db).first
        }
    }

    public func snapshots(accountID: String, filter: SnapshotFilter, after cursor: Cursor?, limit: Int) async throws -> Page<Snapshot> {
        try await read { db in
            var query: SQLQueryString
            // Order by the columns of the index being walked so the database can stop after one page.
            var order = SQLQueryString(" ORDER BY s.created_at DESC, s.id DESC")
            if let destinationID = filter.destinationID {
                order = " ORDER BY c.created_at DESC, c.snapshot_id DESC"
                query =
                    "SELECT s.* FROM snapshot_copies c JOIN snapshots s ON s.id = c.snapshot_id WHERE c.account_id = \(bind: accountID) AND c.destination_id = \(bind: destinationID)"
                query = query + Self.keyset(cursor: cursor, since: filter.since, until: filter.until, alias: "c", idColumn: "snapshot_id")
            } else {
                query = "SELECT s.* FROM snapshots s WHERE s.account_id = \(bind: accountID)"
                query = query + Self.keyset(cursor: cursor, since: filter.since, until: filter.until, alias: "s", idColumn: "id")
            }
            if let serverID = filter.serverID { query = query + " AND s.server_id = \(bind: serverID)" }
            if let jobID = filter.jobID { query = query + " AND s.job_id = \(bind: jobID)" }
            query = query + order + " LIMIT \(literal: limit + 1)"
            let snapshots = try await Self.withCopies(try await db.raw(query).all(), on: db)
            return Self.page(snapshots, limit: limit) { Cursor(createdAt: $0.createdAt, id: $0.id) }
        }
    }

    /// Builds snapshots from rows, loading all their copies with one more query.
    static func withCopies(_ rows: [any SQLRow], on db: any SQLDatabase) async throws -> [Snapshot] {
        guard !rows.isEmpty else { return [] }
        let ids = try rows.map { try $0.text("id") }
        let copyRows = try await db.raw("SELECT * FROM snapshot_copies WHERE snapshot_id IN (\(binds: ids)) ORDER BY snapshot_id, destination_id")
            .all()
        var copies: [String: [SnapshotCopy]] = [:]
        for row in copyRows {
            copies[try row.text("snapshot_id"), default: []].append(
                SnapshotCopy(
                    destinationID: try row.text("destination_id"), resticSnapshotIDs: try row.document("restic_ids", as: [String].self),
                    bytesAdded: try row.integer("bytes_added"), bytesTotal: try row.integer("bytes_total")
                ))
        }
        return try rows.map { row in
            let id = try row.text("id")
            return Snapshot(
                id: id, accountID: try row.text("account_id"), serverID: try row.text("server_id"), jobID: try row.text("job_id"),
                runID: try row.text("run_id"), createdAt: try row.date("created_at"), copies: copies[id] ?? [],
                stack: try row.optionalText("stack").map { try ColumnJSON.decode(StackContents.self, $0, column: "stack") }
            )
        }
    }

    public func fleetSummary(accountID: String, now: Date) async throws -> FleetSummary {
        try await read { db in
            var summary = FleetSummary()
            let dayAgo = now.addingTimeInterval(-86_400).millisecondsSince1970
            if let row = try await db.raw(
                """
                SELECT (SELECT COUNT(*) FROM servers WHERE account_id = \(bind: accountID)) AS servers,
                       (SELECT COUNT(*) FROM servers WHERE account_id = \(bind: accountID) AND enrolled_at IS NOT NULL) AS enrolled,
                       (SELECT COUNT(*) FROM destinations WHERE account_id = \(bind: accountID)) AS destinations,
                       (SELECT COUNT(*) FROM jobs WHERE account_id = \(bind: accountID)) AS jobs,
                       (SELECT COUNT(*) FROM jobs WHERE account_id = \(bind: accountID) AND enabled = 1) AS jobs_enabled,
                       (SELECT COUNT(*) FROM snapshots WHERE account_id = \(bind: accountID)) AS snapshots
                """
            ).first() {
                summary.servers = Int(try row.integer("servers"))
                summary.serversEnrolled = Int(try row.integer("enrolled"))
                summary.destinations = Int(try row.integer("destinations"))
                summary.jobs = Int(try row.integer("jobs"))
                summary.jobsEnabled = Int(try row.integer("jobs_enabled"))
                summary.snapshots = Int(try row.integer("snapshots"))
            }
            // Protected bytes: the newest snapshot's size per existing job, summed.
            if let row = try await db.raw(
                """
                SELECT CAST(COALESCE(SUM(protected_bytes), 0) AS BIGINT) AS bytes FROM jobs WHERE account_id = \(bind: accountID)
                """
            ).first() {
                summary.protectedBytes = try row.integer("bytes")
            }
            for row in try await db.raw(
                """
                SELECT status, COUNT(*) AS n FROM runs WHERE account_id = \(bind: accountID) AND created_at >= \(bind: dayAgo) GROUP BY status
                """
            ).all() {
                summary.runsLast24h[try row.text("status")] = Int(try row.integer("n"))
            }
            summary.lastFailures =
                (summary.runsLast24h["failed"] ?? 0) + (summary.runsLast24h["partial"] ?? 0) + (summary.runsLast24h["interrupted"] ?? 0)
            return summary
        }
    }
}
