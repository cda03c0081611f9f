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
