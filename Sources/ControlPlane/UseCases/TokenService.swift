import BackupCore
import Foundation
import HubAPI
import Store

/// API tokens as use cases: list, create (the secret returned once), revoke. The API and the
/// account page both call these. A token belongs to the member who made it and acts with that
/// member's role, so a member sees and revokes their own tokens only, and cannot make a token with a
/// wider scope than their role allows (`MemberRole.maximumTokenScope`).
struct TokenService {
    let hub: HubServices

    /// The caller's tokens (all of the account's outside a request), revoked ones included (with their revocation time).
    func list(accountID: String) async throws -> [APIToken] {
        try Access.require(.ownCredentials)
        let tokens = try await hub.store.apiTokens(accountID: accountID)
        guard let member = Access.current?.memberID else { return tokens }
        return tokens.filter { $0.userID == member }
    }

    /// Creates a token of the calling member; `scope` defaults to `read`, no lifetime means no expiry.
    func create(_ body: TokenRequest, accountID: String) async throws -> TokenCreated {
        try Access.require(.ownCredentials)
        let name = try APITokenRules.validatedName(body.name)
        let lifetime = try APITokenRules.validatedLifetime(body.expiresInSeconds)
        let scope = body.scope ?? .read
        if let access = Access.current, !access.role.maximumTokenScope.allows(scope) {
            throw DomainError(
                .forbidden, field: "scope",
                "your role (\(access.role.rawValue)) allows tokens up to the \(access.role.maximumTokenScope.rawValue) scope; choose a narrower scope",
                reason: "forbidden_role")
        }
        let issued = try await AccountProvisioning(store: hub.store, clock: hub.clock).issueAPIToken(
            accountID: accountID, userID: Access.current?.memberID, name: name, scope: scope, lifetime: lifetime)
        return TokenCreated(token: issued.token, secret: issued.secret)
    }

    /// Revokes one of the caller's tokens; false when there is no such active token.
    func revoke(id: String, accountID: String) async throws -> Bool {
        try Access.require(.ownCredentials)
        if let member = Access.current?.memberID {
            guard try await hub.store.apiTokens(accountID: accountID).contains(where: { $0.id == id && $0.userID == member }) else { return false }
        }
        return try await hub.store.revokeAPIToken(accountID: accountID, id: id, at: hub.clock.now())
    }
}
