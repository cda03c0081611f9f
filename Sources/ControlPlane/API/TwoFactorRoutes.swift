import BackupCore
import Foundation
import HubAPI
import Hummingbird
import Store

/// The caller's two-factor sign-in (TOTP) and the account's policy. Each handler decodes, calls
/// `TwoFactorService` and encodes.
struct TwoFactorRoutes {
    let hub: HubServices
    var service: TwoFactorService { TwoFactorService(hub: hub) }

    func register(on api: inout APIRouter) {
        api.on(
            .get, "/api/v1/account/two-factor", summary: "Whether the caller signs in with a two-factor code, and whether the account requires it",
            tag: "account", scope: .admin, response: "TwoFactorStatus", status)
        api.on(
            .post, "/api/v1/account/two-factor", summary: "Start setting up two-factor sign-in: a TOTP secret and its otpauth URI",
            tag: "account", scope: .admin, response: "TwoFactorEnrolment", status: 201, begin)
        api.on(
            .post, "/api/v1/account/two-factor/confirm",
            summary: "Turn two-factor sign-in on with the app's first code; answers ten recovery codes, shown this once", tag: "account",
            scope: .admin, body: "TwoFactorCode", response: "TwoFactorEnabled", confirm)
        api.on(
            .post, "/api/v1/account/two-factor/disable", summary: "Turn two-factor sign-in off with a current code or a recovery code",
            tag: "account", scope: .admin, body: "TwoFactorCode", response: "TwoFactorStatus", disable)
        api.on(
            .put, "/api/v1/account/two-factor-policy", summary: "Require two-factor sign-in of every member (owners)", tag: "account",
            scope: .admin, body: "TwoFactorPolicy", response: "TwoFactorStatus", policy)
    }

    /// The member behind the request (a session's, or the token's).
    func member(_ context: HubRequestContext) async throws -> User {
        let accountID = try context.accountID()
        guard let id = context.caller?.userID, let user = try await hub.store.user(id: id), user.accountID == accountID else {
            throw APIError(.forbidden, code: "no_member", "this API token belongs to no member; make one as a member (mzpanel tokens create)")
        }
        return user
    }

    @Sendable func status(_ request: Request, _ context: HubRequestContext) async throws -> JSONBody<TwoFactorStatus> {
        JSONBody(try await service.status(member: try await member(context)))
    }

    @Sendable func begin(_ request: Request, _ context: HubRequestContext) async throws -> JSONBody<TwoFactorEnrolment> {
        JSONBody(try await service.begin(member: try await member(context)), status: .created)
    }

    @Sendable func confirm(_ request: Request, _ context: HubRequestContext) async throws -> JSONBody<TwoFactorEnabled> {
        let member = try await member(context)
        let body = try await request.decodeJSON(TwoFactorCode.self, context: context)
        return JSONBody(try await service.confirm(member: member, code: body.code))
    }

    @Sendable func disable(_ request: Request, _ context: HubRequestContext) async throws -> JSONBody<TwoFactorStatus> {
        let member = try await member(context)
        let body = try await request.decodeJSON(TwoFactorCode.self, context: context)
        try await service.disable(member: member, code: body.code)
        return JSONBody(try await service.status(member: member))
    }

    @Sendable func policy(_ request: Request, _ context: HubRequestContext) async throws -> JSONBody<TwoFactorStatus> {
        let member = try await member(context)
        let body = try await request.decodeJSON(TwoFactorPolicy.self, context: context)
        try await service.setRequired(body.required, accountID: member.accountID)
        return JSONBody(try await service.status(member: member))
    }
}
