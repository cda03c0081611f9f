import BackupCore
import Foundation
import SQLKit

/// Members' two-factor settings and the account's policy.
extension SQLHubStore {
    public func twoFactor(userID: String) async throws -> TwoFactorState {
        try await read { db in
            guard let row = try await db.raw("SELECT * FROM users WHERE id = \(bind: userID)").first() else { return TwoFactorState() }
            return try Self.twoFactorState(row)
        }
    }

    public func setPendingTwoFactor(userID: String, secret: String?) async throws {
        try await write { db in
            try await db.raw("UPDATE users SET totp_pending = \(bind: secret) WHERE id = \(bind: userID)").run()
        }
    }

    public func setTwoFactor(userID: String, secret: String?, step: Int64?, recoveryHashes: [String]) async throws {
        let codes = String(decoding: try JSONEncoder().encode(recoveryHashes), as: UTF8.self)
        try await write { db in
            try await db.raw(
                """
                UPDATE users SET totp_secret = \(bind: secret), totp_pending = NULL, totp_last_step = \(bind: step),
                  recovery_codes = \(bind: secret == nil ? nil : codes) WHERE id = \(bind: userID)
                """
            ).run()
        }
    }

    public func useTwoFactorStep(userID: String, step: Int64) async throws -> Bool {
        try await write { db in
            guard let row = try await db.raw("SELECT * FROM users WHERE id = \(bind: userID)").first() else { return false }
            let state = try Self.twoFactorState(row)
            if let last = state.lastStep, step <= last { return false }
            try await db.raw("UPDATE users SET totp_last_step = \(bind: step) WHERE id = \(bind: userID)").run()
            return true
        }
    }

    public func useRecoveryCode(userID: String, hash: String) async throws -> Bool {
        try await write { db in
            guard let row = try await db.raw("SELECT * FROM users WHERE id = \(bind: userID)").first() else { return false }
            var hashes = try Self.twoFactorState(row).recoveryHashes
            guard let index = hashes.firstIndex(of: hash) else { return false }
            hashes.remove(at: index)
            let codes = String(decoding: try JSONEncoder().encode(hashes), as: UTF8.self)
            try await db.raw("UPDATE users SET recovery_codes = \(bind: codes) WHERE id = \(bind: userID)").run()
            return true
        }
    }

    public func twoFactorRequired(accountID: String) async throws -> Bool {
        try await read { db in
            guard let row = try await db.raw("SELECT require_two_factor FROM accounts WHERE id = \(bind: accountID)").first() else { return false }
            return try row.decode(column: "require_two_factor", as: Int.self) != 0
        }
    }

    public func setTwoFactorRequired(accountID: String, required: Bool) async throws {
        try await write { db in
            try await db.raw("UPDATE accounts SET require_two_factor = \(bind: required ? 1 : 0) WHERE id = \(bind: accountID)").run()
        }
    }

    static func twoFactorState(_ row: any SQLRow) throws -> TwoFactorState {
        let hashes = try row.optionalText("recovery_codes").map { try JSONDecoder().decode([String].self, from: Data($0.utf8)) } ?? []
        return TwoFactorState(
            secret: try row.optionalText("totp_secret"), pending: try row.optionalText("totp_pending"),
            lastStep: try row.decode(column: "totp_last_step", as: Int64?.self), recoveryHashes: hashes)
    }
}
