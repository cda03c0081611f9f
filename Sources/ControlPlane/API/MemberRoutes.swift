import BackupCore
import Foundation
import HubAPI
import Hummingbird

/// The account's members and invitations, and the caller's own browser sessions. Each handler
/// decodes, calls `MemberService` and encodes; the rules (who may, the last owner) live there.
struct MemberRoutes {
    let hub: HubServices
    var members: MemberService { MemberService(hub: hub) }

    func register(on api: inout APIRouter) {
        api.on(
            .get, "/api/v1/members", summary: "List the account's members (and, for owners, the invitations waiting)", tag: "account",
            response: "MemberList", list)
        api.on(
            .post, "/api/v1/invitations", summary: "Invite a member; the one-time link is in this response only (owners)",
            tag: "account", scope: .admin, body: "InvitationRequest", response: "InvitationCreated", status: 201, invite)
        api.on(
            .delete, "/api/v1/invitations/{invitation}", summary: "Withdraw an invitation (owners)", tag: "account", scope: .admin,
            response: "Deleted", withdraw)
        api.on(
            .patch, "/api/v1/members/{member}", summary: "Change a member's role (owners; the last owner cannot be demoted)", tag: "account",
            scope: .admin, body: "MemberUpdate", response: "MemberView", setRole)
        api.on(
            .delete, "/api/v1/members/{member}",
            summary: "Remove a member: their sessions end and their API tokens are revoked at once (owners; not the last owner)",
            tag: "account", scope: .admin, response: "Deleted", remove)
        api.on(
            .get, "/api/v1/sessions", summary: "List the caller's signed-in browsers", tag: "account", scope: .admin, response: "SessionList",
            sessions)
        api.on(
            .delete, "/api/v1/sessions/{session}", summary: "End one of the caller's browser sessions", tag: "account", scope: .admin,
            response: "Deleted", endSession)
    }

    @Sendable func list(_ request: Request, _ context: HubRequestContext) async throws -> JSONBody<MemberList> {
        JSONBody(try await members.list(accountID: try context.accountID()))
    }

    @Sendable func invite(_ request: Request, _ context: HubRequestContext) async throws -> JSONBody<InvitationCreated> {
        let accountID = try context.accountID()
        let body = try await request.decodeJSON(InvitationRequest.self, context: context)
        return JSONBody(try await members.invite(body, accountID: accountID, invitedBy: context.caller?.label ?? ""), status: .created)
    }

    @Sendable func withdraw(_ request: Request, _ context: HubRequestContext) async throws -> JSONBody<Deleted> {
        try await members.withdraw(invitation: try context.parameter("invitation"), accountID: try context.accountID())
        return JSONBody(Deleted())
    }

    @Sendable func setRole(_ request: Request, _ context: HubRequestContext) async throws -> JSONBody<MemberView> {
        let accountID = try context.accountID()
        let body = try await request.decodeJSON(MemberUpdate.self, context: context)
        return JSONBody(try await members.setRole(try context.parameter("member"), role: body.role, accountID: accountID))
    }

    @Sendable func remove(_ request: Request, _ context: HubRequestContext) async throws -> JSONBody<Deleted> {
        try await members.remove(try context.parameter("member"), accountID: try context.accountID())
        return JSONBody(Deleted())
    }

    @Sendable func sessions(_ request: Request, _ context: HubRequestContext) async throws -> JSONBody<SessionList> {
        let accountID = try context.accountID()
        return JSONBody(try await members.sessions(accountID: accountID, memberID: context.caller?.userID, currentSession: context.sessionID))
    }

    @Sendable func endSession(_ request: Request, _ context: HubRequestContext) async throws -> JSONBody<Deleted> {
        let accountID = try context.accountID()
        try await members.endSession(try context.parameter("session"), accountID: accountID, memberID: context.caller?.userID)
        return JSONBody(Deleted())
    }
}

extension HubRequestContext {
    /// The browser session making the request, when it is one.
    var sessionID: String? {
        if case .session(let id) = caller?.method { return id }
        return nil
    }
}
