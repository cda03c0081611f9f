import BackupCore
import Foundation
import SQLKit

extension SQLHubStore {
    public func createAccount(_ account: Account, user: User?) async throws {
        try await write { db in
            if let user, try await db.raw("SELECT id FROM users WHERE email = \(bind: user.email)").first() != nil {
                throw DomainError.conflict("email", "an account with the email \(user.email) already exists")
            }
            try await db.raw(
                """
                INSERT INTO accounts (id, name, plan, created_at)
                VALUES (\(bind: account.id), \(bind: account.name), \(bind: account.plan.rawValue), \(bind: account.createdAt.millisecondsSince1970))
                """
            ).run()
            if let user {
                try await db.raw(
                    """
                    INSERT INTO users (id, account_id, email, password_hash, created_at, role)
                    VALUES (\(bind: user.id), \(bind: user.accountID), \(bind: user.email), \(bind: user.passwordHash), \(bind: user.createdAt.millisecondsSince1970),
                            \(bind: user.role.rawValue))
                    """
                ).run()
            }
        }
    }

    public func account(id: String) async throws -> Account? {
        try await read { db in
            try await db.raw("SELECT * FROM accounts WHERE id = \(bind: id)").first().map(Self.account)
        }
    }

    public func setPlan(accountID: String, plan: Plan) async throws -> Bool {
        try await write { db in
            guard try await db.raw("SELECT id FROM accounts WHERE id = \(bind: accountID)").first() != nil else { return false }
            try await db.raw("UPDATE accounts SET plan = \(bind: plan.rawValue) WHERE id = \(bind: accountID)").run()
            return true
        }
    }

    public func user(id: String) async throws -> User? {
        try await read { db in
            try await db.raw("SELECT * FROM users WHERE id = \(bind: id)").first().map(Self.user)
        }
    }

    public func user(email: String) async throws -> User? {
        try await read { db in
            try await db.raw("SELECT * FROM users WHERE email = \(bind: email)").first().map(Self.user)
        }
    }

    public func createAPIToken(_ token: APIToken, hash: String) async throws {
        try await write { db in
            try await db.raw(
                """
                INSERT INTO api_tokens (id, account_id, name, prefix, token_hash, created_at, scope, expires_at, user_id)
                VALUES (\(bind: token.id), \(bind: token.accountID), \(bind: token.name), \(bind: token.prefix), \(bind: hash),
                        \(bind: token.createdAt.millisecondsSince1970), \(bind: token.scope.rawValue), \(bind: token.expiresAt?.millisecondsSince1970),
                        \(bind: token.userID))
                """
            ).run()
        }
    }

    public func apiToken(hash: String) async throws -> APIToken? {
        try await read { db in
            try await db.raw("SELECT * FROM api_tokens WHERE token_hash = \(bind: hash) AND revoked_at IS NULL").first().map(Self.apiToken)
        }
    }

    public func apiTokens(accountID: String) async throws -> [APIToken] {
        try await read { db in
            try await db.raw("SELECT * FROM api_tokens WHERE account_id = \(bind: accountID) ORDER BY created_at, id").all().map(Self.apiToken)
        }
    }

    public func revokeAPIToken(accountID: String, id: String, at: Date) async throws -> Bool {
        try await write { db in
            guard
                try await db.raw("SELECT id FROM api_tokens WHERE id = \(bind: id) AND account_id = \(bind: accountID) AND revoked_at IS NULL")
                    .first() != nil
            else { return false }
            try await db.raw("UPDATE api_tokens SET revoked_at = \(bind: at.millisecondsSince1970) WHERE id = \(bind: id)").run()
            return true
        }
    }

    public func touchAPIToken(id: String, at: Date) async throws {
        try await read { db in
            try await db.raw("UPDATE api_tokens SET last_used_at = \(bind: at.millisecondsSince1970) WHERE id = \(bind: id)").run()
        }
    }

    public func createSession(_ session: WebSession, hash: String) async throws {
        try await write { db in
            try await db.raw("DELETE FROM web_sessions WHERE expires_at < \(bind: session.createdAt.millisecondsSince1970)").run()
            try await db.raw(
                """
                INSERT INTO web_sessions (id, account_id, user_id, token_hash, created_at, expires_at)
                VALUES (\(bind: session.id), \(bind: session.accountID), \(bind: session.userID), \(bind: hash),
                        \(bind: session.createdAt.millisecondsSince1970), \(bind: session.expiresAt.millisecondsSince1970))
                """
            ).run()
        }
    }

    public func session(hash: String, now: Date) async throws -> WebSession? {
        try await read { db in
            try await db.raw("SELECT * FROM web_sessions WHERE token_hash = \(bind: hash) AND expires_at > \(bind: now.millisecondsSince1970)")
                .first().map { row in
                    WebSession(
                        id: try row.text("id"), accountID: try row.text("account_id"), userID: try row.text("user_id"),
                        createdAt: try row.date("created_at"), expiresAt: try row.date("expires_at"))
                }
        }
    }

    public func deleteSession(hash: String) async throws {
        try await read { db in try await db.raw("DELETE FROM web_sessions WHERE token_hash = \(bind: hash)").run() }
    }

    static func account(_ row: any SQLRow) throws -> Account {
        guard let plan = Plan(rawValue: try row.text("plan")) else { throw StoreError.corrupt("accounts.plan holds an unknown plan") }
        return Account(id: try row.text("id"), name: try row.text("name"), plan: plan, createdAt: try row.date("created_at"))
    }

    static func apiToken(_ row: any SQLRow) throws -> APIToken {
        guard let scope = TokenScope(rawValue: try row.text("scope")) else { throw StoreError.corrupt("api_tokens.scope holds an unknown scope") }
        return APIToken(
            id: try row.text("id"), accountID: try row.text("account_id"), name: try row.text("name"), prefix: try row.text("prefix"),
            scope: scope, createdAt: try row.date("created_at"), expiresAt: try row.optionalDate("expires_at"),
            lastUsedAt: try row.optionalDate("last_used_at"), revokedAt: try row.optionalDate("revoked_at"), userID: try row.optionalText("user_id"))
    }

    static func user(_ row: any SQLRow) throws -> User {
        guard let role = MemberRole(rawValue: try row.text("role")) else { throw StoreError.corrupt("users.role holds an unknown role") }
        var user = User(
            id: try row.text("id"), accountID: try row.text("account_id"), email: try row.text("email"),
            passwordHash: try row.text("password_hash"), createdAt: try row.date("created_at"), role: role)
        user.twoFactor = try row.optionalText("totp_secret") != nil
        return user
    }
}
