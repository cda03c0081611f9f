import BackupCore
import Foundation

/// `POST /api/v1/session`: log in with email and password.
public struct LoginRequest: Codable, Sendable {
    public let email: String
    public let password: String
    /// The authenticator app's code (or a recovery code) when the member has two-factor sign-in on.
    public let code: String?
    public init(email: String, password: String, code: String? = nil) {
        self.email = email
        self.password = password
        self.code = code
    }
}

/// The account a login opened and when its session ends.
public struct LoginResponse: Codable, Sendable {
    public let account: Account
    public let email: String
    public let expiresAt: Date
    public init(account: Account, email: String, expiresAt: Date) {
        self.account = account
        self.email = email
        self.expiresAt = expiresAt
    }
}

/// `GET /api/v1/account`: the caller's account and what its plan allows.
public struct AccountView: Codable, Sendable {
    public let account: Account
    public let plan: PlanView
    public init(account: Account, plan: PlanView) {
        self.account = account
        self.plan = plan
    }
}

/// A plan in words, with the destination kinds it allows.
public struct PlanView: Codable, Sendable {
    public let name: Plan
    public let title: String
    public let destinationKinds: [DestinationKind]
    public init(name: Plan, title: String, destinationKinds: [DestinationKind]) {
        self.name = name
        self.title = title
        self.destinationKinds = destinationKinds
    }
}

/// `POST /api/v1/tokens`: a new API token's name (what it is for), scope (default `read`) and
/// lifetime (60 s – 2 years; absent: no expiry).
public struct TokenRequest: Codable, Sendable {
    public let name: String
    public let scope: TokenScope?
    public let expiresInSeconds: Int?
    public init(name: String, scope: TokenScope? = nil, expiresInSeconds: Int? = nil) {
        self.name = name
        self.scope = scope
        self.expiresInSeconds = expiresInSeconds
    }
}

/// A new API token with its secret, shown this once.
public struct TokenCreated: Codable, Sendable {
    public let token: APIToken
    public let secret: String
    public init(token: APIToken, secret: String) {
        self.token = token
        self.secret = secret
    }
}

/// The account's API tokens (never their secrets).
public struct TokenList: Codable, Sendable {
    public let tokens: [APIToken]
    public init(tokens: [APIToken]) { self.tokens = tokens }
}

/// The account's audit log, one page.
public struct AuditList: Codable, Sendable {
    public let events: [AuditEvent]
    public let nextCursor: String?
    public init(events: [AuditEvent], nextCursor: String?) {
        self.events = events
        self.nextCursor = nextCursor
    }
}

/// `PUT /api/v1/vault`: the account vault (ciphertext only).
public struct VaultRequest: Codable, Sendable {
    public let vault: VaultDocument
    /// True to replace an existing vault (a passphrase change); false or absent creates one.
    public let replace: Bool?
    public init(vault: VaultDocument, replace: Bool? = nil) {
        self.vault = vault
        self.replace = replace
    }
}
