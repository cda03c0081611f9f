import Foundation

/// An account's single sign-on with an OpenID Connect provider (authorization code + PKCE S256):
/// where the provider is (its issuer URL; the rest comes from its discovery document), the client
/// the hub is registered as, and who may join through it. The client secret is kept by the store
/// and never shown back.
public struct SSOSettings: Sendable, Equatable {
    public var accountID: String
    /// The provider's issuer URL exactly as its ID tokens name it (`iss`), e.g. `https://id.example.com/realms/ops`.
    public var issuer: String
    public var clientID: String
    /// The client secret (nil: a public client, PKCE only). Never returned by the API.
    public var clientSecret: String?
    /// The role of a person who joins through single sign-on (never `owner`).
    public var defaultRole: MemberRole
    /// Whether a person with a verified email the account has no member for may join with `defaultRole`
    /// (off: only existing members and invitees sign in through the provider).
    public var allowJoin: Bool
    /// The email domains that find this account's provider from the login page (`example.com`), lower case.
    public var domains: [String]
    public var updatedAt: Date

    public init(
        accountID: String, issuer: String, clientID: String, clientSecret: String?, defaultRole: MemberRole, allowJoin: Bool, domains: [String],
        updatedAt: Date
    ) {
        self.accountID = accountID
        self.issuer = issuer
        self.clientID = clientID
        self.clientSecret = clientSecret
        self.defaultRole = defaultRole
        self.allowJoin = allowJoin
        self.domains = domains
        self.updatedAt = updatedAt
    }

    /// Checks an issuer URL: https (or http, which the hub allows only where private addresses are allowed), a host,
    /// no user info, query or fragment (OpenID Connect Discovery §2). Answers it without a trailing slash.
    public static func validatedIssuer(_ text: String) throws(DomainError) -> String {
        var clean = text.trimmingSpaces
        while clean.hasSuffix("/") { clean.removeLast() }
        guard clean.count <= 512, let url = URL(string: clean), let scheme = url.scheme?.lowercased(), scheme == "https" || scheme == "http",
            let host = url.host, !host.isEmpty
        else {
            throw .invalid("issuer", "\"\(text)\" is not an issuer URL like https://id.example.com (the provider's issuer, without a path to a page)")
        }
        guard url.user == nil, url.password == nil, url.query == nil, url.fragment == nil else {
            throw .invalid("issuer", "the issuer URL may not carry a user, a query or a fragment; use the provider's issuer as it publishes it")
        }
        return clean
    }

    /// Checks a client id: printable, at most 255 characters.
    public static func validatedClientID(_ text: String) throws(DomainError) -> String {
        let clean = text.trimmingSpaces
        guard !clean.isEmpty, clean.count <= 255, clean.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7f }) else {
            throw .invalid("clientID", "the client id must be 1 to 255 printable characters without spaces, as the provider shows it")
        }
        return clean
    }

    /// Checks a client secret: printable, at most 1,024 characters (the message never quotes it).
    public static func validatedClientSecret(_ text: String) throws(DomainError) -> String {
        let clean = text.trimmingSpaces
        guard !clean.isEmpty, clean.count <= 1024, clean.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0.value < 0x7f }) else {
            throw .invalid("clientSecret", "the client secret must be 1 to 1,024 printable characters")
        }
        return clean
    }

    /// The role people join with: viewer, operator or admin (an owner is made by another owner, never by a provider).
    public static func validatedDefaultRole(_ role: MemberRole) throws(DomainError) -> MemberRole {
        guard role != .owner else {
            throw .invalid("defaultRole", "people who join through single sign-on cannot be owners; choose viewer, operator or admin")
        }
        return role
    }

    /// Checks email domains (`example.com`): lower-cased, unique, at most 20.
    public static func validatedDomains(_ domains: [String]) throws(DomainError) -> [String] {
        var clean: [String] = []
        for domain in domains {
            let text = domain.trimmingSpaces.lowercased()
            let labels = text.split(separator: ".", omittingEmptySubsequences: false)
            guard labels.count >= 2, text.count <= 253,
                labels.allSatisfy({ label in
                    !label.isEmpty && label.count <= 63 && !label.hasPrefix("-") && !label.hasSuffix("-")
                        && label.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "-" }
                })
            else {
                throw .invalid("domains", "\"\(domain)\" is not an email domain like example.com")
            }
            if !clean.contains(text) { clean.append(text) }
        }
        guard clean.count <= 20 else { throw .invalid("domains", "at most 20 email domains") }
        return clean
    }

    /// The domain of an email address (after the @), lower case.
    public static func domain(of email: String) -> String {
        String(email.lowercased().split(separator: "@").last ?? "")
    }
}
