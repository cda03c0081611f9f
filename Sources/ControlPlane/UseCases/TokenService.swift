import BackupCore
import Foundation
import HubAPI
import Store

/// API tokens as use cases: list, create (the secret returned once), revoke. The API and the
/// account page both call these.
struct TokenService {
    let hub: HubServices

    /// The account's tokens, revoked ones included (with their revocation time).
    func list(accountID: String) async throws -> [APIToken] {
        try await hub.store.apiTokens(accountID: accountID)
    }

    /// Creates a token; `scope` defaults to `read`, no lifetime means no expiry.
    func create(_ body: TokenRequest, accountID: String) async throws -> TokenCreated {
        let name = try APITokenRules.validatedName(body.name)
        let lifetime = try APITokenRules.validatedLifetime(body.expiresInSeconds)
        let issued = try await AccountProvisioning(store: hub.store, clock: hub.clock).issueAPIToken(
            accountID: accountID, name: name, scope: body.scope ?? .read, lifetime: lifetime)
        return TokenCreated(token: issued.token, secret: issued.secret)
    }

    /// Revokes a token of the account; false when there is no such active token.
    func revoke(id: String, accountID: String) async throws -> Bool {
        try await hub.store.revokeAPIToken(accountID: accountID, id: id, at: hub.clock.now())
    }
}
