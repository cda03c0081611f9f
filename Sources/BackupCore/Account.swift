import Foundation

/// A customer of the hub: owns servers, destinations and jobs, and has a plan.
public struct Account: Sendable, Codable, Equatable {
    public var id: String
    public var name: String
    public var plan: Plan
    public var createdAt: Date

    public init(id: String, name: String, plan: Plan, createdAt: Date) {
        self.id = id
        self.name = name
        self.plan = plan
        self.createdAt = createdAt
    }
}

/// A person who logs in to an account with an email and a password (stored as a bcrypt hash): a
/// member of the account, with a role. An email belongs to one member on the whole hub.
public struct User: Sendable, Codable, Equatable {
    public var id: String
    public var accountID: String
    public var email: String
    public var passwordHash: String
    public var createdAt: Date
    /// What the member may do (`RolePermissions.table`); an account's first person is its owner.
    public var role: MemberRole
    /// Whether the member signs in with a TOTP code besides the password.
    public var twoFactor: Bool = false

    public init(id: String, accountID: String, email: String, passwordHash: String, createdAt: Date, role: MemberRole = .owner) {
        self.id = id
        self.accountID = accountID
        self.email = email
        self.passwordHash = passwordHash
        self.createdAt = createdAt
        self.role = role
    }

    /// Lower-cases and checks an email address's shape.
    public static func validatedEmail(_ email: String) throws(DomainError) -> String {
        let clean = email.trimmingSpaces.lowercased()
        let parts = clean.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, parts[1].contains("."), !parts[1].hasPrefix("."),
            !parts[1].hasSuffix("."), clean.count <= 254, !clean.contains(" ")
        else {
            throw .invalid("email", "\"\(email)\" is not an email address like name@example.com")
        }
        return clean
    }

    /// Minimum password rule: 10 characters; long passphrases welcome.
    public static func validatePassword(_ password: String) throws(DomainError) {
        if password.count < 10 {
            throw .invalid("password", "the password is too short: use at least 10 characters (a passphrase of several words is best)")
        }
        if password.utf8.count > 72 {
            throw .invalid("password", "the password is longer than 72 bytes, which bcrypt cannot use in full; shorten it")
        }
    }
}

/// A bearer credential for the API: shown once at creation, stored as a SHA-256 hash; limited to
/// its scope, and to its lifetime when it has one.
public struct APIToken: Sendable, Codable, Equatable {
    public var id: String
    public var accountID: String
    public var name: String
    /// The first characters of the token, shown in listings so a person can tell tokens apart.
    public var prefix: String
    public var scope: TokenScope
    public var createdAt: Date
    /// When the token stops working; nil: never.
    public var expiresAt: Date?
    /// The last request made with it, to the minute (the hub records a use at most once a minute).
    public var lastUsedAt: Date?
    public var revokedAt: Date?
    /// The member the token belongs to: it acts with at most that member's role, and ends when the member is removed.
    public var userID: String?

    public init(
        id: String, accountID: String, name: String, prefix: String, scope: TokenScope, createdAt: Date, expiresAt: Date? = nil,
        lastUsedAt: Date? = nil, revokedAt: Date? = nil, userID: String? = nil
    ) {
        self.userID = userID
        self.id = id
        self.accountID = accountID
        self.name = name
        self.prefix = prefix
        self.scope = scope
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.lastUsedAt = lastUsedAt
        self.revokedAt = revokedAt
    }

    /// Whether the token has expired at `now`.
    public func isExpired(at now: Date) -> Bool { expiresAt.map { $0 <= now } ?? false }

    /// How long after the last recorded use a new use is recorded again.
    public static let lastUsedResolution: TimeInterval = 60

    /// Whether a use at `now` should be written (the first, or a minute after the last one recorded).
    public func shouldRecordUse(at now: Date) -> Bool {
        guard let lastUsedAt else { return true }
        return now.timeIntervalSince(lastUsedAt) >= Self.lastUsedResolution
    }
}

/// A logged-in browser: the cookie carries a random secret, the hub keeps its hash.
public struct WebSession: Sendable, Codable, Equatable {
    public var id: String
    public var accountID: String
    public var userID: String
    public var createdAt: Date
    public var expiresAt: Date

    public init(id: String, accountID: String, userID: String, createdAt: Date, expiresAt: Date) {
        self.id = id
        self.accountID = accountID
        self.userID = userID
        self.createdAt = createdAt
        self.expiresAt = expiresAt
    }
}
