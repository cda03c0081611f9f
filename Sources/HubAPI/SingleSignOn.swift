import BackupCore
import Foundation

/// `GET /api/v1/account/sso`: the account's single sign-on (OpenID Connect) settings, without the client secret.
public struct SSOSettingsView: Codable, Sendable {
    public let configured: Bool
    public let issuer: String?
    public let clientID: String?
    /// Whether a client secret is kept (it is never shown).
    public let clientSecretSet: Bool
    public let defaultRole: MemberRole?
    public let allowJoin: Bool
    public let domains: [String]
    /// The redirect URI to register at the provider.
    public let redirectURI: String
    public let updatedAt: Date?

    public init(
        configured: Bool, issuer: String?, clientID: String?, clientSecretSet: Bool, defaultRole: MemberRole?, allowJoin: Bool, domains: [String],
        redirectURI: String, updatedAt: Date?
    ) {
        self.configured = configured
        self.issuer = issuer
        self.clientID = clientID
        self.clientSecretSet = clientSecretSet
        self.defaultRole = defaultRole
        self.allowJoin = allowJoin
        self.domains = domains
        self.redirectURI = redirectURI
        self.updatedAt = updatedAt
    }
}

/// `PUT /api/v1/account/sso`: set up single sign-on (owners). The hub reads the provider's discovery document first.
public struct SSOSettingsRequest: Codable, Sendable {
    public let issuer: String
    public let clientID: String
    /// The client secret; omitted: keep the one set before (or none: a public client with PKCE only).
    public let clientSecret: String?
    /// viewer (default), operator or admin.
    public let defaultRole: MemberRole?
    /// Whether people with a verified email the account has no member for may join (default false).
    public let allowJoin: Bool?
    public let domains: [String]?

    public init(
        issuer: String, clientID: String, clientSecret: String? = nil, defaultRole: MemberRole? = nil, allowJoin: Bool? = nil,
        domains: [String]? = nil
    ) {
        self.issuer = issuer
        self.clientID = clientID
        self.clientSecret = clientSecret
        self.defaultRole = defaultRole
        self.allowJoin = allowJoin
        self.domains = domains
    }
}
