import BackupCore
import Foundation
import HubAPI
import Store

/// Single sign-on with OpenID Connect as use cases: an owner sets up the account's provider (the
/// hub reads its discovery document first), a sign-in starts (state, nonce, PKCE S256) and
/// finishes (the code exchanged, the ID token checked by `IDToken.verify`), and the verified email
/// becomes a member: an existing member of this account, an invitee accepting their invitation, or
/// — when the owner allows it — a new member with the default role.
struct SSOService {
    let hub: HubServices

    var client: OIDCClient { OIDCClient(allowPrivate: hub.configuration.allowPrivateWebhooks) }

    /// The redirect URI to register at the provider.
    var redirectURI: String {
        let base = hub.configuration.effectivePublicURL
        return (base.hasSuffix("/") ? String(base.dropLast()) : base) + "/backups/sso/callback"
    }

    /// A refused sign-in, in words for the person signing in (never quoting a token or the provider's answer).
    struct Refused: Error, Sendable, CustomStringConvertible {
        let description: String
        /// The account the sign-in was for, when known (for the audit log).
        var accountID: String?
        init(_ description: String, accountID: String? = nil) {
            self.description = description
            self.accountID = accountID
        }
    }

    func view(accountID: String) async throws -> SSOSettingsView {
        let settings = try await hub.store.ssoSettings(accountID: accountID)
        return SSOSettingsView(
            configured: settings != nil, issuer: settings?.issuer, clientID: settings?.clientID, clientSecretSet: settings?.clientSecret != nil,
            defaultRole: settings?.defaultRole, allowJoin: settings?.allowJoin ?? false, domains: settings?.domains ?? [], redirectURI: redirectURI,
            updatedAt: settings?.updatedAt)
    }

    /// Sets up (or changes) the account's provider; owners only. The discovery document must answer first.
    func set(_ body: SSOSettingsRequest, accountID: String) async throws -> SSOSettingsView {
        try Access.require(.manageMembers)
        let issuer = try SSOSettings.validatedIssuer(body.issuer)
        let clientID = try SSOSettings.validatedClientID(body.clientID)
        let role = try SSOSettings.validatedDefaultRole(body.defaultRole ?? .viewer)
        let domains = try SSOSettings.validatedDomains(body.domains ?? [])
        let previous = try await hub.store.ssoSettings(accountID: accountID)
        var secret: String?
        if let given = body.clientSecret {
            secret = try SSOSettings.validatedClientSecret(given)
        } else if previous?.issuer == issuer, previous?.clientID == clientID {
            secret = previous?.clientSecret
        }
        do {
            hub.ssoLogins.remember(try await client.discover(issuer: issuer), at: hub.clock.now())
        } catch {
            throw DomainError.invalid("issuer", error.description)
        }
        let settings = SSOSettings(
            accountID: accountID, issuer: issuer, clientID: clientID, clientSecret: secret, defaultRole: role, allowJoin: body.allowJoin ?? false,
            domains: domains, updatedAt: hub.clock.now())
        try await hub.store.putSSOSettings(settings)
        return try await view(accountID: accountID)
    }

    func disable(accountID: String) async throws {
        try Access.require(.manageMembers)
        guard try await hub.store.deleteSSOSettings(accountID: accountID) else {
            throw DomainError(.notFound, "single sign-on is not set up for this account")
        }
    }

    /// The issuer's discovery document, read at most every 5 minutes (a sign-in's start needs no outbound request then).
    func discovery(issuer: String) async throws(OIDCClient.Failure) -> OIDCClient.Discovery {
        if let known = hub.ssoLogins.discovery(issuer: issuer, now: hub.clock.now()) { return known }
        let fresh = try await client.discover(issuer: issuer)
        hub.ssoLogins.remember(fresh, at: hub.clock.now())
        return fresh
    }

    /// The provider an email signs in with: its member's account's, or the one of the account that claims its domain.
    func settings(forEmail email: String) async throws -> SSOSettings? {
        let clean = email.trimmingSpaces.lowercased()
        if let member = try await hub.store.user(email: clean) { return try await hub.store.ssoSettings(accountID: member.accountID) }
        return try await hub.store.ssoSettings(domain: SSOSettings.domain(of: clean))
    }

    /// Starts a sign-in with the account's provider: answers the provider's authorization URL and the secret of the
    /// browser cookie that binds the callback to this browser.
    func begin(accountID: String, invitation: String?, loginHint: String?, next: String) async throws(Refused) -> (url: String, browser: String) {
        guard let settings = try? await hub.store.ssoSettings(accountID: accountID) else {
            throw Refused("single sign-on is not set up for this account; sign in with your password")
        }
        let discovery: OIDCClient.Discovery
        do {
            discovery = try await self.discovery(issuer: settings.issuer)
        } catch {
            throw Refused("the identity provider cannot be reached: \(error.description)", accountID: accountID)
        }
        let state = PKCE.random()
        let nonce = PKCE.random()
        let verifier = PKCE.random()
        let browser = Secrets.make(prefix: Secrets.ssoPrefix)
        do {
            try await hub.ssoLogins.add(
                state: state,
                SSOLogins.Pending(
                    accountID: accountID, nonce: nonce, verifier: verifier, browser: Secrets.hash(browser), invitation: invitation, next: next,
                    createdAt: hub.clock.now()))
        } catch {
            throw Refused("the sign-in could not be recorded (the hub's database did not answer); try again", accountID: accountID)
        }
        var components = URLComponents(string: discovery.authorizationEndpoint)
        var query = components?.queryItems ?? []
        query += [
            URLQueryItem(name: "response_type", value: "code"), URLQueryItem(name: "client_id", value: settings.clientID),
            URLQueryItem(name: "redirect_uri", value: redirectURI), URLQueryItem(name: "scope", value: "openid email profile"),
            URLQueryItem(name: "state", value: state), URLQueryItem(name: "nonce", value: nonce),
            URLQueryItem(name: "code_challenge", value: PKCE.challenge(verifier)), URLQueryItem(name: "code_challenge_method", value: "S256"),
        ]
        if let loginHint { query.append(URLQueryItem(name: "login_hint", value: loginHint)) }
        components?.percentEncodedQuery = query.map { OIDCClient.formEncode($0.name) + "=" + OIDCClient.formEncode($0.value ?? "") }
            .joined(separator: "&")
        guard let url = components?.string else { throw Refused("the provider's authorization endpoint is not a URL", accountID: accountID) }
        return (url, browser)
    }

    /// Finishes a sign-in at the callback: the member it signs in (and where to go next).
    func finish(state: String, code: String, issuer: String?, browser: String?) async throws -> (member: User, next: String, joined: Bool) {
        let now = hub.clock.now()
        guard let pending = try await hub.ssoLogins.take(state: state, now: now) else {
            throw Refused("this sign-in expired or was already used; start it again from the login page")
        }
        guard let browser, IDToken.constantTimeEqual(Secrets.hash(browser), pending.browser) else {
            throw Refused("this sign-in was started in another browser; start it again from the login page", accountID: pending.accountID)
        }
        guard let settings = try await hub.store.ssoSettings(accountID: pending.accountID) else {
            throw Refused("single sign-on was turned off for this account meanwhile; sign in with your password", accountID: pending.accountID)
        }
        // RFC 9207: a provider that names itself in the response must be this account's provider.
        if let issuer, issuer != settings.issuer {
            throw Refused("the answer came from another provider (\(issuer)) than this account's", accountID: pending.accountID)
        }
        let token: IDToken
        do {
            let discovery = try await self.discovery(issuer: settings.issuer)
            let idToken = try await client.idToken(
                discovery, code: code, verifier: pending.verifier, redirectURI: redirectURI, clientID: settings.clientID,
                clientSecret: settings.clientSecret)
            let keys = try await client.keys(discovery)
            token = try IDToken.verify(idToken, keys: keys, issuer: settings.issuer, clientID: settings.clientID, nonce: pending.nonce, now: now)
        } catch let failure as OIDCClient.Failure {
            throw Refused(failure.description, accountID: pending.accountID)
        } catch let refused as IDToken.Refused {
            throw Refused(refused.description, accountID: pending.accountID)
        }
        let (member, joined) = try await member(for: token, settings: settings, invitation: pending.invitation, now: now)
        return (member, pending.next, joined)
    }

    /// The member a verified email is: an invitee, an existing member of this account, or a new one with the default role.
    /// Answers whether the person joined the account now (an invitation accepted or a new member).
    func member(for token: IDToken, settings: SSOSettings, invitation: String?, now: Date) async throws -> (User, joined: Bool) {
        let accountID = settings.accountID
        if let invitation {
            guard let found = try await MemberService(hub: hub).invitation(secret: invitation), found.accountID == accountID else {
                throw Refused("this invitation link was used, has expired or was withdrawn; ask for a new one", accountID: accountID)
            }
            guard found.email == token.email else {
                throw Refused(
                    "the invitation is for \(found.email), but you signed in at the provider as \(token.email); sign in there as \(found.email)",
                    accountID: accountID)
            }
            let user = User(id: ResourceID.make(.user), accountID: "", email: "", passwordHash: "!", createdAt: now)
            guard let member = try await hub.store.acceptInvitation(hash: Secrets.hash(invitation), user: user, now: now) else {
                throw Refused("this invitation link was used, has expired or was withdrawn; ask for a new one", accountID: accountID)
            }
            return (member, true)
        }
        if let existing = try await hub.store.user(email: token.email) {
            guard existing.accountID == accountID else {
                throw Refused("\(token.email) belongs to another account on this hub; sign in with that account's password or provider")
            }
            return (existing, false)
        }
        guard settings.allowJoin, settings.domains.isEmpty || settings.domains.contains(SSOSettings.domain(of: token.email)) else {
            throw Refused("\(token.email) is not a member of this account; ask one of its owners for an invitation", accountID: accountID)
        }
        let user = User(
            id: ResourceID.make(.user), accountID: accountID, email: token.email, passwordHash: "!", createdAt: now, role: settings.defaultRole)
        try await hub.store.addMember(user)
        return (user, true)
    }
}
