import BackupCore
import Foundation
import HubAPI
import Hummingbird
import Store

/// The account's single sign-on (OpenID Connect) settings. Any member may read them (never the
/// client secret); only owners change them. Each handler decodes, calls `SSOService` and encodes.
struct SSORoutes {
    let hub: HubServices
    var service: SSOService { SSOService(hub: hub) }

    func register(on api: inout APIRouter) {
        api.on(
            .get, "/api/v1/account/sso", summary: "The account's single sign-on settings (never the client secret) and the redirect URI to register",
            tag: "account", scope: .read, response: "SSOSettingsView", show)
        api.on(
            .put, "/api/v1/account/sso",
            summary: "Set up single sign-on with an OpenID Connect provider (owners); the hub reads the issuer's discovery document first",
            tag: "account", scope: .admin, body: "SSOSettingsRequest", response: "SSOSettingsView", set)
        api.on(
            .delete, "/api/v1/account/sso", summary: "Turn single sign-on off (owners); members keep their passwords", tag: "account",
            scope: .admin, response: "Deleted", disable)
    }

    @Sendable func show(_ request: Request, _ context: HubRequestContext) async throws -> JSONBody<SSOSettingsView> {
        JSONBody(try await service.view(accountID: try context.accountID()))
    }

    @Sendable func set(_ request: Request, _ context: HubRequestContext) async throws -> JSONBody<SSOSettingsView> {
        let accountID = try context.accountID()
        let body = try await request.decodeJSON(SSOSettingsRequest.self, context: context)
        return JSONBody(try await service.set(body, accountID: accountID))
    }

    @Sendable func disable(_ request: Request, _ context: HubRequestContext) async throws -> JSONBody<Deleted> {
        try await service.disable(accountID: try context.accountID())
        return JSONBody(Deleted())
    }
}
