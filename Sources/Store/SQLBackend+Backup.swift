import Foundation
import SQLKit

extension SQLBackend {
    /// Writes a consistent copy of the SQLite database to `path` while the hub may be running
    /// (`VACUUM INTO`: one read transaction, so the copy is the state at one instant). The file
    /// must not exist yet.
    public func copySQLite(to path: String) async throws {
        guard dialect == .sqlite else { throw StoreError.configuration("an SQLite copy needs the SQLite engine; use pg_dump for PostgreSQL") }
        try await withDatabase { db in
            try await db.raw("VACUUM INTO \(bind: path)").run()
        }
    }
}

extension SQLBackend {
    /// After a restore: runs that were queued or running when the backup was taken are marked
    /// `interrupted` (their end reached the old hub, not this state; a hub job's own run is always
    /// one of them), so that run-now is not refused for a run that will never report. Returns how many.
    public func interruptUnfinishedRuns(at time: Date) async throws -> Int {
        let ms = Int64((time.timeIntervalSince1970 * 1000).rounded())
        return try await withDatabase { db in
            try await db.raw(
                """
                UPDATE runs SET status = 'interrupted', finished_at = \(bind: ms), progress = NULL
                WHERE status IN ('queued', 'running') RETURNING id
                """
            ).all().count
        }
    }
}
