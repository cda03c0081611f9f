import BackupCore
import Foundation
import SQLKit

extension SQLHubStore {
    public func loginFailures(keys: [String]) async throws -> [String: LoginFailureRecord] {
        try await read { db in try await Self.loginFailures(keys: keys, lock: false, on: db) }
    }

    public func updateLoginFailures(
        keys: [String], _ change: @Sendable ([String: LoginFailureRecord]) -> [String: LoginFailureRecord]
    ) async throws {
        try await write { db in
            for key in keys {
                try await db.raw(
                    "INSERT INTO login_failures (throttle_key, failures, last_failure) VALUES (\(bind: key), 0, 0) ON CONFLICT (throttle_key) DO NOTHING"
                ).run()
            }
            let changed = change(try await Self.loginFailures(keys: keys, lock: true, on: db))
            for (key, record) in changed where keys.contains(key) {
                try await db.raw(
                    """
                    UPDATE login_failures SET failures = \(bind: record.failures), last_failure = \(bind: record.lastFailure.millisecondsSince1970),
                      blocked_until = \(bind: record.blockedUntil.milliseconds) WHERE throttle_key = \(bind: key)
                    """
                ).run()
            }
        }
    }

    public func clearLoginFailures(key: String) async throws {
        try await write { db in try await db.raw("DELETE FROM login_failures WHERE throttle_key = \(bind: key)").run() }
    }

    public func forgetLoginFailures(before: Date) async throws {
        try await write { db in
            try await db.raw("DELETE FROM login_failures WHERE last_failure < \(bind: before.millisecondsSince1970)").run()
        }
    }

    /// The records of `keys` (a row inserted but never failed — `failures` 0 — counts as none).
    private static func loginFailures(keys: [String], lock: Bool, on db: any SQLDatabase) async throws -> [String: LoginFailureRecord] {
        var records: [String: LoginFailureRecord] = [:]
        let suffix = lock && db.dialect.name == "postgresql" ? " FOR UPDATE" : ""
        for key in keys {
            guard
                let row = try await db.raw(
                    "SELECT failures, last_failure, blocked_until FROM login_failures WHERE throttle_key = \(bind: key)\(unsafeRaw: suffix)"
                ).first(), try row.integer("failures") > 0
            else { continue }
            records[key] = LoginFailureRecord(
                failures: Int(try row.integer("failures")), lastFailure: try row.date("last_failure"),
                blockedUntil: try row.optionalDate("blocked_until"))
        }
        return records
    }
}
