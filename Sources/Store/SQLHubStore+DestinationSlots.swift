import BackupCore
import Foundation
import SQLKit

extension SQLHubStore {
    public func claimDestinationSlot(_ claim: DestinationSlotClaim, limit: Int, until: Date, now: Date) async throws -> DestinationSlotGrant {
        try await write { db in
            // One arbiter per destination at a time: PostgreSQL locks the destination's row (other
            // claims of it wait for this transaction), SQLite has one writer.
            guard
                try await db.raw(
                    "SELECT id FROM destinations WHERE id = \(bind: claim.destinationID) AND account_id = \(bind: claim.accountID)"
                        + (db.dialect.name == "postgresql" ? " FOR UPDATE" : "")
                ).first() != nil
            else { throw DomainError.notFound("destination", claim.destinationID) }
            let nowMS = now.millisecondsSince1970
            try await db.raw("DELETE FROM destination_slots WHERE destination_id = \(bind: claim.destinationID) AND expires_at <= \(bind: nowMS)")
                .run()
            let existing = try await db.raw(
                "SELECT run_id FROM destination_slots WHERE destination_id = \(bind: claim.destinationID) AND run_id = \(bind: claim.runID)"
            ).first()
            if existing != nil {
                try await db.raw(
                    """
                    UPDATE destination_slots SET expires_at = \(bind: until.millisecondsSince1970)
                    WHERE destination_id = \(bind: claim.destinationID) AND run_id = \(bind: claim.runID)
                    """
                ).run()
            } else {
                try await db.raw(
                    """
                    INSERT INTO destination_slots (destination_id, run_id, account_id, server_id, job_id, holding, requested_at, expires_at)
                    VALUES (\(bind: claim.destinationID), \(bind: claim.runID), \(bind: claim.accountID), \(bind: claim.serverID),
                            \(bind: claim.jobID), 0, \(bind: nowMS), \(bind: until.millisecondsSince1970))
                    """
                ).run()
            }
            // Promote the first waiting runs into the free slots.
            let line = try await Self.slotRows(destinationID: claim.destinationID, on: db)
            var holders = line.filter(\.granted).count
            for row in line where !row.granted && holders < max(1, limit) {
                try await db.raw(
                    "UPDATE destination_slots SET holding = 1 WHERE destination_id = \(bind: claim.destinationID) AND run_id = \(bind: row.runID)"
                ).run()
                holders += 1
            }
            let settled = try await Self.slotRows(destinationID: claim.destinationID, on: db)
            guard let mine = settled.first(where: { $0.runID == claim.runID }) else { throw StoreError.corrupt("destination slot vanished") }
            return mine
        }
    }

    public func releaseDestinationSlot(accountID: String, destinationID: String, runID: String) async throws {
        try await write { db in
            try await db.raw(
                """
                DELETE FROM destination_slots
                WHERE destination_id = \(bind: destinationID) AND run_id = \(bind: runID) AND account_id = \(bind: accountID)
                """
            ).run()
        }
    }

    public func destinationSlots(accountID: String, destinationID: String, now: Date) async throws -> [DestinationSlotGrant] {
        try await read { db in
            try await Self.slotRows(destinationID: destinationID, on: db, accountID: accountID)
                .filter { $0.expiresAt > now }
                .enumeratedPositions()
        }
    }

    /// Holders first, then the line in order of asking (run id breaks ties); positions counted in the line.
    static func slotRows(destinationID: String, on db: any SQLDatabase, accountID: String? = nil) async throws -> [DestinationSlotGrant] {
        var query = SQLQueryString("SELECT * FROM destination_slots WHERE destination_id = \(bind: destinationID)")
        if let accountID { query = query + " AND account_id = \(bind: accountID)" }
        query = query + " ORDER BY holding DESC, requested_at, run_id"
        let rows = try await db.raw(query).all()
        return try rows.map { row in
            DestinationSlotGrant(
                destinationID: try row.text("destination_id"), runID: try row.text("run_id"), serverID: try row.text("server_id"),
                jobID: try row.text("job_id"), granted: try row.integer("holding") != 0, position: 0,
                requestedAt: try row.date("requested_at"), expiresAt: try row.date("expires_at"))
        }.enumeratedPositions()
    }
}

extension [DestinationSlotGrant] {
    /// Numbers the waiting runs 1, 2, … in order; holders get 0.
    func enumeratedPositions() -> [DestinationSlotGrant] {
        var next = 0
        return map { grant in
            var grant = grant
            if grant.granted {
                grant.position = 0
            } else {
                next += 1
                grant.position = next
            }
            return grant
        }
    }
}
