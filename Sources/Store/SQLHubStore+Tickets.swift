import BackupCore
import Foundation
import SQLKit

extension SQLHubStore {
    public func putTicket(kind: String, key: String, payload: String, createdAt: Date, dropBefore: Date) async throws {
        try await write { db in
            try await db.raw("DELETE FROM hub_tickets WHERE created_at < \(bind: dropBefore.millisecondsSince1970)").run()
            try await db.raw(
                """
                INSERT INTO hub_tickets (kind, ticket_key, payload, created_at)
                VALUES (\(bind: kind), \(bind: key), \(bind: payload), \(bind: createdAt.millisecondsSince1970))
                ON CONFLICT (kind, ticket_key) DO UPDATE SET payload = excluded.payload, created_at = excluded.created_at
                """
            ).run()
        }
    }

    public func ticket(kind: String, key: String, notBefore: Date, take: Bool) async throws -> String? {
        try await write { db in
            let found: String?
            if take {
                // One statement: two replicas taking the same ticket at once get it once.
                found = try await db.raw(
                    "DELETE FROM hub_tickets WHERE kind = \(bind: kind) AND ticket_key = \(bind: key) RETURNING payload, created_at"
                ).first().flatMap { row in
                    try row.date("created_at") >= notBefore ? try row.text("payload") : nil
                }
            } else {
                found = try await db.raw(
                    "SELECT payload, created_at FROM hub_tickets WHERE kind = \(bind: kind) AND ticket_key = \(bind: key)"
                ).first().flatMap { row in
                    try row.date("created_at") >= notBefore ? try row.text("payload") : nil
                }
            }
            return found
        }
    }

    public func deleteTicket(kind: String, key: String) async throws {
        try await write { db in
            try await db.raw("DELETE FROM hub_tickets WHERE kind = \(bind: kind) AND ticket_key = \(bind: key)").run()
        }
    }
}
