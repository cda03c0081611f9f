import BackupCore
import Foundation
import SQLKit

extension SQLHubStore {
    public func acquireLease(_ name: String, holder: String, until: Date, now: Date) async throws -> Bool {
        try await write { db in
            try await db.raw(
                "INSERT INTO hub_leases (name, holder, expires_at) VALUES (\(bind: name), '', 0) ON CONFLICT (name) DO NOTHING"
            ).run()
            // One statement decides: on PostgreSQL a concurrent taker waits for this row's lock and
            // then re-checks the condition against the committed holder; SQLite has one writer.
            try await db.raw(
                """
                UPDATE hub_leases SET holder = \(bind: holder), expires_at = \(bind: until.millisecondsSince1970)
                WHERE name = \(bind: name) AND (holder = \(bind: holder) OR expires_at <= \(bind: now.millisecondsSince1970))
                """
            ).run()
            let row = try await db.raw("SELECT holder FROM hub_leases WHERE name = \(bind: name)").first()
            return try row?.decode(column: "holder", as: String.self) == holder
        }
    }

    public func releaseLease(_ name: String, holder: String) async throws {
        try await write { db in
            try await db.raw("UPDATE hub_leases SET expires_at = 0 WHERE name = \(bind: name) AND holder = \(bind: holder)").run()
        }
    }
}
