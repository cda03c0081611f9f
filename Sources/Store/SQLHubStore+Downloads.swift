import BackupCore
import Foundation
import SQLKit

extension SQLHubStore {
    public func openDownloadTransfer(id: String, serverID: String, now: Date) async throws {
        let stale = now.addingTimeInterval(-24 * 3600).millisecondsSince1970
        try await write { db in
            // Transfers a vanished replica left behind go with the next one opened.
            try await db.raw(
                "DELETE FROM download_parts WHERE download_id IN (SELECT id FROM download_transfers WHERE created_at < \(bind: stale))"
            ).run()
            try await db.raw("DELETE FROM download_transfers WHERE created_at < \(bind: stale)").run()
            try await db.raw(
                "INSERT INTO download_transfers (id, server_id, next_seq, created_at) VALUES (\(bind: id), \(bind: serverID), 0, \(bind: now.millisecondsSince1970))"
            ).run()
        }
    }

    public func pushDownloadPart(_ part: DownloadPart, downloadID: String, serverID: String, maxWaiting: Int) async throws
        -> DownloadPartOutcome
    {
        let outcome: DownloadPartOutcome = try await write { db in
            let lock = db.dialect.name == "postgresql" ? " FOR UPDATE" : ""
            guard
                let row = try await db.raw(
                    "SELECT next_seq FROM download_transfers WHERE id = \(bind: downloadID) AND server_id = \(bind: serverID)\(unsafeRaw: lock)"
                ).first()
            else { return .gone }
            let expected = Int(try row.integer("next_seq"))
            guard part.sequence == expected else { return .outOfOrder(expected: expected) }
            let waiting = try await db.raw("SELECT COUNT(*) AS n FROM download_parts WHERE download_id = \(bind: downloadID)").first()
            guard try (waiting?.integer("n") ?? 0) < Int64(maxWaiting) else { return .full }
            try await db.raw(
                """
                INSERT INTO download_parts (download_id, seq, data, done, error)
                VALUES (\(bind: downloadID), \(bind: part.sequence), \(bind: part.data.base64EncodedString()), \(bind: part.done ? 1 : 0),
                        \(bind: part.error))
                """
            ).run()
            try await db.raw("UPDATE download_transfers SET next_seq = next_seq + 1 WHERE id = \(bind: downloadID)").run()
            try await CommandNotifications.notify(download: "p:" + downloadID, on: db)
            return .queued
        }
        if outcome == .queued { await downloadBell.ring("p:" + downloadID) }
        return outcome
    }

    public func takeDownloadParts(downloadID: String, limit: Int) async throws -> [DownloadPart] {
        let parts: [DownloadPart] = try await write { db in
            let rows = try await db.raw(
                "SELECT seq, data, done, error FROM download_parts WHERE download_id = \(bind: downloadID) ORDER BY seq LIMIT \(bind: limit)"
            ).all()
            let parts = try rows.map { row in
                DownloadPart(
                    sequence: Int(try row.integer("seq")), data: Data(base64Encoded: try row.text("data")) ?? Data(),
                    done: try row.integer("done") != 0, error: try row.optionalText("error"))
            }
            guard let last = parts.last else { return [] }
            try await db.raw("DELETE FROM download_parts WHERE download_id = \(bind: downloadID) AND seq <= \(bind: last.sequence)").run()
            try await CommandNotifications.notify(download: "t:" + downloadID, on: db)
            return parts
        }
        if !parts.isEmpty { await downloadBell.ring("t:" + downloadID) }
        return parts
    }

    public func closeDownloadTransfer(id: String) async throws {
        try await write { db in
            try await db.raw("DELETE FROM download_parts WHERE download_id = \(bind: id)").run()
            try await db.raw("DELETE FROM download_transfers WHERE id = \(bind: id)").run()
            try await CommandNotifications.notify(download: "t:" + id, on: db)
        }
        await downloadBell.ring("t:" + id)
    }
}
