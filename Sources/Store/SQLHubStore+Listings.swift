import BackupCore
import Foundation
import SQLKit

/// Snapshot listings for browsing: asked for by a person, uploaded in parts by the agent, read
/// one folder at a time.
extension SQLHubStore {
    public func listing(accountID: String, snapshotID: String, destinationID: String) async throws -> SnapshotListing? {
        try await read { db in
            try await db.raw(
                """
                SELECT * FROM snapshot_listings WHERE account_id = \(bind: accountID) AND snapshot_id = \(bind: snapshotID) AND destination_id = \(bind: destinationID)
                """
            ).first().map(Self.listing)
        }
    }

    /// Starts (or restarts) a listing that `serverID`'s agent will upload; old entries go.
    public func startListing(accountID: String, snapshotID: String, destinationID: String, serverID: String, now: Date) async throws {
        try await write { db in
            try await db.raw("DELETE FROM snapshot_entries WHERE snapshot_id = \(bind: snapshotID) AND destination_id = \(bind: destinationID)").run()
            try await db.raw("DELETE FROM snapshot_listings WHERE snapshot_id = \(bind: snapshotID) AND destination_id = \(bind: destinationID)")
                .run()
            try await db.raw(
                """
                INSERT INTO snapshot_listings (snapshot_id, destination_id, account_id, server_id, status, entries, requested_at)
                VALUES (\(bind: snapshotID), \(bind: destinationID), \(bind: accountID), \(bind: serverID), 'listing', 0, \(bind: now.millisecondsSince1970))
                """
            ).run()
        }
    }

    /// Adds a part of a listing from the agent it was asked of; false when no such listing is
    /// waiting for that server (another server's, or finished).
    public func appendListing(
        serverID: String, snapshotID: String, destinationID: String, entries: [SnapshotEntry], done: Bool, error: String?,
        now: Date
    ) async throws -> Bool {
        try await write { db in
            guard
                try await db.raw(
                    """
                    SELECT snapshot_id FROM snapshot_listings WHERE snapshot_id = \(bind: snapshotID) AND destination_id = \(bind: destinationID)
                      AND server_id = \(bind: serverID) AND status = 'listing'
                    """
                ).first() != nil
            else { return false }
            for chunk in stride(from: 0, to: entries.count, by: 1000).map({ Array(entries[$0..<min($0 + 1000, entries.count)]) }) {
                var rows: [SQLQueryString] = []
                for entry in chunk {
                    rows.append(
                        "(\(bind: snapshotID), \(bind: destinationID), \(bind: entry.parent), \(bind: entry.name), \(bind: entry.type), \(bind: entry.size), \(bind: entry.mode), \(bind: entry.modifiedAt.milliseconds), \(bind: entry.resticID))"
                    )
                }
                try await db.raw(
                    "INSERT INTO snapshot_entries (snapshot_id, destination_id, parent, name, type, size, mode, mtime, restic_id) VALUES "
                        + rows.joined(separator: ", ") + " ON CONFLICT DO NOTHING"
                ).run()
            }
            let status = error != nil ? "failed" : done ? "ready" : "listing"
            try await db.raw(
                """
                UPDATE snapshot_listings SET entries = entries + \(bind: Int64(entries.count)), status = \(bind: status), error = \(bind: error),
                  completed_at = \(bind: done || error != nil ? now.millisecondsSince1970 : nil)
                WHERE snapshot_id = \(bind: snapshotID) AND destination_id = \(bind: destinationID)
                """
            ).run()
            return true
        }
    }

    /// One folder of a listed snapshot copy, by name; `after` continues a long folder.
    public func snapshotEntries(accountID: String, snapshotID: String, destinationID: String, parent: String, after: String?, limit: Int) async throws
        -> [SnapshotEntry]
    {
        try await read { db in
            var query: SQLQueryString = """
                SELECT e.* FROM snapshot_entries e JOIN snapshot_listings l ON l.snapshot_id = e.snapshot_id AND l.destination_id = e.destination_id
                WHERE l.account_id = \(bind: accountID) AND e.snapshot_id = \(bind: snapshotID) AND e.destination_id = \(bind: destinationID)
                  AND e.parent = \(bind: parent)
                """
            if let after { query = query + " AND e.name > \(bind: after)" }
            return try await db.raw(query + " ORDER BY e.name LIMIT \(literal: limit)").all().map(Self.entry)
        }
    }

    /// One entry of a listed copy by its path, with a restic snapshot holding it (for a folder:
    /// one of its children's); nil when the copy has no such path.
    public func snapshotEntry(accountID: String, snapshotID: String, destinationID: String, path: String) async throws -> SnapshotEntry? {
        try await read { db in
            let scope: SQLQueryString = """
                SELECT e.* FROM snapshot_entries e JOIN snapshot_listings l ON l.snapshot_id = e.snapshot_id AND l.destination_id = e.destination_id
                WHERE l.account_id = \(bind: accountID) AND e.snapshot_id = \(bind: snapshotID) AND e.destination_id = \(bind: destinationID)
                """
            var entry: SnapshotEntry?
            if path != "/" {
                let (parent, name) = SnapshotEntry.split(path)
                entry = try await db.raw(scope + " AND e.parent = \(bind: parent) AND e.name = \(bind: name)").first().map(Self.entry)
                guard entry != nil else { return nil }
            }
            if entry == nil || entry?.type == "dir" {
                let child = try await db.raw(scope + " AND e.parent = \(bind: path) ORDER BY e.name LIMIT 1").first().map(Self.entry)
                if entry == nil {
                    guard let child else { return nil }
                    entry = SnapshotEntry(parent: "/", name: "", type: "dir", size: 0, mode: 0o755, modifiedAt: nil, resticID: child.resticID)
                } else {
                    let own = entry?.resticID
                    entry?.resticID = child?.resticID ?? own
                }
            }
            return entry
        }
    }

    static func entry(_ row: any SQLRow) throws -> SnapshotEntry {
        SnapshotEntry(
            parent: try row.text("parent"), name: try row.text("name"), type: try row.text("type"), size: try row.integer("size"),
            mode: Int(try row.integer("mode")), modifiedAt: try row.optionalDate("mtime"), resticID: try row.optionalText("restic_id"))
    }

    static func listing(_ row: any SQLRow) throws -> SnapshotListing {
        guard let status = SnapshotListing.Status(rawValue: try row.text("status")) else { throw StoreError.corrupt("snapshot_listings.status") }
        return SnapshotListing(
            snapshotID: try row.text("snapshot_id"), destinationID: try row.text("destination_id"), status: status,
            entries: try row.integer("entries"), requestedAt: try row.date("requested_at"), completedAt: try row.optionalDate("completed_at"),
            error: try row.optionalText("error"))
    }
}
