import BackupCore
import Foundation
import SQLKit

/// Members' own access to the account vault: their keys and the vault key sealed to each (docs/sealing.md).
extension SQLHubStore {
    public func memberVaultRecords(accountID: String) async throws -> [MemberVaultRecord] {
        try await read { db in
            try await db.raw("SELECT * FROM member_vault_keys WHERE account_id = \(bind: accountID) ORDER BY updated_at, member_id").all()
                .map(Self.memberVaultRecord)
        }
    }

    public func memberVaultRecord(accountID: String, memberID: String) async throws -> MemberVaultRecord? {
        try await read { db in
            try await db.raw("SELECT * FROM member_vault_keys WHERE account_id = \(bind: accountID) AND member_id = \(bind: memberID)").first()
                .map(Self.memberVaultRecord)
        }
    }

    public func putMemberVaultKey(accountID: String, memberID: String, key: String, keyID: String, now: Date) async throws -> Bool {
        try await write { db in
            guard try await db.raw("SELECT id FROM users WHERE id = \(bind: memberID) AND account_id = \(bind: accountID)").first() != nil
            else { return false }
            let old = try await db.raw("SELECT * FROM member_vault_keys WHERE member_id = \(bind: memberID)").first().map(Self.memberVaultRecord)
            // The same key again keeps its wrapping (a passphrase change boxes the same private key); a new key drops it.
            let wrapping = old?.keyID == keyID ? old?.wrapping : nil
            try await db.raw("DELETE FROM member_vault_keys WHERE member_id = \(bind: memberID)").run()
            try await db.raw(
                """
                INSERT INTO member_vault_keys (member_id, account_id, key_document, key_id, wrapping, updated_at)
                VALUES (\(bind: memberID), \(bind: accountID), \(bind: key), \(bind: keyID), \(bind: wrapping), \(bind: now.millisecondsSince1970))
                """
            ).run()
            return true
        }
    }

    public func setMemberVaultWrapping(accountID: String, memberID: String, keyID: String, wrapping: String?, now: Date) async throws -> Bool {
        try await write { db in
            guard
                let old = try await db.raw(
                    "SELECT * FROM member_vault_keys WHERE account_id = \(bind: accountID) AND member_id = \(bind: memberID)"
                ).first().map(Self.memberVaultRecord), old.keyID == keyID
            else { return false }
            try await db.raw(
                """
                UPDATE member_vault_keys SET wrapping = \(bind: wrapping), updated_at = \(bind: now.millisecondsSince1970)
                WHERE member_id = \(bind: memberID) AND key_id = \(bind: keyID)
                """
            ).run()
            return true
        }
    }

    static func memberVaultRecord(_ row: any SQLRow) throws -> MemberVaultRecord {
        MemberVaultRecord(
            accountID: try row.text("account_id"), memberID: try row.text("member_id"), key: try row.text("key_document"),
            keyID: try row.text("key_id"), wrapping: try row.optionalText("wrapping"), updatedAt: try row.date("updated_at"))
    }
}
