import BackupCore
import Foundation
import SQLKit

/// Accounts' single sign-on settings (OpenID Connect) and members who join through it.
extension SQLHubStore {
    public func ssoSettings(accountID: String) async throws -> SSOSettings? {
        try await read { db in
            try await db.raw("SELECT * FROM sso_providers WHERE account_id = \(bind: accountID)").first().map(Self.ssoSettings)
        }
    }

    public func ssoSettings(domain: String) async throws -> SSOSettings? {
        let wanted = domain.lowercased()
        // Few accounts set up single sign-on: read them all and match the domain here (the domains are a JSON list).
        return try await read { db in
            try await db.raw("SELECT * FROM sso_providers ORDER BY updated_at, account_id").all().map(Self.ssoSettings)
                .first { $0.domains.contains(wanted) }
        }
    }

    public func putSSOSettings(_ settings: SSOSettings) async throws {
        let domains = String(decoding: try JSONEncoder().encode(settings.domains), as: UTF8.self)
        try await write { db in
            let others = try await db.raw("SELECT * FROM sso_providers WHERE account_id <> \(bind: settings.accountID)").all().map(Self.ssoSettings)
            if let taken = settings.domains.first(where: { domain in others.contains { $0.domains.contains(domain) } }) {
                throw DomainError.conflict("domains", "the email domain \(taken) already finds another account's single sign-on; leave it out")
            }
            try await db.raw("DELETE FROM sso_providers WHERE account_id = \(bind: settings.accountID)").run()
            try await db.raw(
                """
                INSERT INTO sso_providers (account_id, issuer, client_id, client_secret, default_role, allow_join, domains, updated_at)
                VALUES (\(bind: settings.accountID), \(bind: settings.issuer), \(bind: settings.clientID), \(bind: settings.clientSecret),
                        \(bind: settings.defaultRole.rawValue), \(bind: settings.allowJoin ? 1 : 0), \(bind: domains),
                        \(bind: settings.updatedAt.millisecondsSince1970))
                """
            ).run()
        }
    }

    public func deleteSSOSettings(accountID: String) async throws -> Bool {
        try await write { db in
            guard try await db.raw("SELECT account_id FROM sso_providers WHERE account_id = \(bind: accountID)").first() != nil else { return false }
            try await db.raw("DELETE FROM sso_providers WHERE account_id = \(bind: accountID)").run()
            return true
        }
    }

    public func addMember(_ user: User) async throws {
        try await write { db in
            if try await db.raw("SELECT id FROM users WHERE email = \(bind: user.email)").first() != nil {
                throw DomainError.conflict("email", "\(user.email) is already a member of an account on this hub")
            }
            try await db.raw(
                """
                INSERT INTO users (id, account_id, email, password_hash, created_at, role)
                VALUES (\(bind: user.id), \(bind: user.accountID), \(bind: user.email), \(bind: user.passwordHash),
                        \(bind: user.createdAt.millisecondsSince1970), \(bind: user.role.rawValue))
                """
            ).run()
        }
    }

    static func ssoSettings(_ row: any SQLRow) throws -> SSOSettings {
        let domains = try JSONDecoder().decode([String].self, from: Data(try row.text("domains").utf8))
        return SSOSettings(
            accountID: try row.text("account_id"), issuer: try row.text("issuer"), clientID: try row.text("client_id"),
            clientSecret: try row.optionalText("client_secret"), defaultRole: MemberRole(rawValue: try row.text("default_role")) ?? .viewer,
            allowJoin: try row.decode(column: "allow_join", as: Int.self) != 0, domains: domains, updatedAt: try row.date("updated_at"))
    }
}
