import BackupCore
import Foundation
import HubAPI
import Hummingbird
import Store

/// Servers and their one-time enrollment tokens; each handler decodes, calls `ServerService` and encodes.
struct ServerRoutes {
    let hub: HubServices
    var servers: ServerService { ServerService(hub: hub) }

    func register(on api: inout APIRouter) {
        api.on(
            .get, "/api/v1/servers", summary: "List servers, newest first, with cursor pagination", tag: "servers",
            response: "ServerList", query: ["cursor", "limit"], list)
        api.on(
            .post, "/api/v1/servers", summary: "Add a server; answers its first enrollment token and the agent command",
            tag: "servers", body: "ServerRequest", response: "ServerCreated", status: 201, add)
        api.on(.get, "/api/v1/servers/{server}", summary: "Show a server (by id or name)", tag: "servers", response: "ServerView", show)
        api.on(
            .patch, "/api/v1/servers/{server}", summary: "Rename a server or set its cap on concurrent runs", tag: "servers", body: "ServerUpdate",
            response: "ServerView", rename)
        api.on(
            .delete, "/api/v1/servers/{server}", summary: "Remove a server, its jobs and sealed credentials (history stays)",
            tag: "servers", response: "ServerDeleted", remove)
        api.on(
            .put, "/api/v1/servers/{server}/certificate", summary: "Certify the server's key with the account signing key (made client-side)",
            tag: "servers", body: "CertificateRequest", response: "ServerView", certify)
        api.on(
            .delete, "/api/v1/servers/{server}/certificate",
            summary: "Revoke the server's certificate; answers the destinations its agent can still open", tag: "servers",
            response: "CertificateRevoked", revoke)
        api.on(
            .get, "/api/v1/servers/{server}/stacks",
            summary: "The Docker Compose stacks the server's agent last reported (services, volumes, bind mounts, databases)",
            tag: "servers", response: "StackReport", stacks)
        api.on(
            .post, "/api/v1/servers/{server}/stacks/discover",
            summary: "Ask the server's agent to look for Docker stacks now; answers the last report", tag: "servers",
            response: "StackReport", status: 202, discoverStacks)
        api.on(
            .post, "/api/v1/servers/{server}/upgrade",
            summary: "Upgrade the server's agent to the hub's build (after its runs in progress; rolled back if it does not reconnect)",
            tag: "servers", response: "AgentUpgradeStarted", status: 202, upgrade)
        api.on(
            .get, "/api/v1/servers/{server}/enrollment-tokens", summary: "List a server's enrollment tokens", tag: "servers",
            response: "EnrollmentList", tokens)
        api.on(
            .post, "/api/v1/servers/{server}/enrollment-tokens", summary: "Issue a one-time enrollment token", tag: "servers",
            body: "EnrollmentRequest", response: "EnrollmentCreated", status: 201, issueToken)
        api.on(
            .delete, "/api/v1/servers/{server}/enrollment-tokens/{token}", summary: "Withdraw an enrollment token", tag: "servers",
            response: "Deleted", withdrawToken)
    }

    @Sendable func list(_ request: Request, _ context: HubRequestContext) async throws -> JSONBody<ServerList> {
        let query = QueryParameters(request: request)
        let accountID = try context.accountID()
        let cursor = try query.cursor()
        let limit = try query.limit()
        return JSONBody(try await servers.list(accountID: accountID, after: cursor, limit: limit))
    }

    @Sendable func add(_ request: Request, _ context: HubRequestContext) async throws -> JSONBody<ServerCreated> {
        let accountID = try context.accountID()
        return JSONBody(
            try await servers.add(try await request.decodeJSON(ServerRequest.self, context: context), accountID: accountID), status: .created)
    }

    @Sendable func stacks(_ request: Request, _ context: HubRequestContext) async throws -> JSONBody<StackReport> {
        JSONBody(try await servers.stacks(of: try await server(context)))
    }

    @Sendable func discoverStacks(_ request: Request, _ context: HubRequestContext) async throws -> JSONBody<StackReport> {
        JSONBody(try await servers.discoverStacks(on: try await server(context)), status: .accepted)
    }

    @Sendable func show(_ request: Request, _ context: HubRequestContext) async throws -> JSONBody<ServerView> {
        let server = try await server(context)
        return JSONBody(try await servers.views([server], accountID: server.accountID)[0])
    }

    @Sendable func rename(_ request: Request, _ context: HubRequestContext) async throws -> JSONBody<ServerView> {
        let server = try await server(context)
        let renamed = try await servers.rename(server, with: try await request.decodeJSON(ServerUpdate.self, context: context))
        return JSONBody(ServerView(renamed, now: hub.clock.now()))
    }

    @Sendable func upgrade(_ request: Request, _ context: HubRequestContext) async throws -> JSONBody<AgentUpgradeStarted> {
        JSONBody(try await servers.upgrade(try await server(context)), status: .accepted)
    }

    @Sendable func remove(_ request: Request, _ context: HubRequestContext) async throws -> JSONBody<ServerDeleted> {
        JSONBody(try await servers.remove(try await server(context)))
    }

    @Sendable func certify(_ request: Request, _ context: HubRequestContext) async throws -> JSONBody<ServerView> {
        let server = try await server(context)
        let certified = try await servers.certify(server, with: try await request.decodeJSON(CertificateRequest.self, context: context))
        return JSONBody(try await servers.views([certified], accountID: server.accountID)[0])
    }

    @Sendable func revoke(_ request: Request, _ context: HubRequestContext) async throws -> JSONBody<CertificateRevoked> {
        JSONBody(try await servers.revoke(try await server(context)))
    }

    @Sendable func tokens(_ request: Request, _ context: HubRequestContext) async throws -> JSONBody<EnrollmentList> {
        let server = try await server(context)
        return JSONBody(EnrollmentList(enrollmentTokens: try await hub.store.enrollmentTokens(accountID: server.accountID, serverID: server.id)))
    }

    @Sendable func issueToken(_ request: Request, _ context: HubRequestContext) async throws -> JSONBody<EnrollmentCreated> {
        let server = try await server(context)
        let body = try await request.decodeJSON(EnrollmentRequest.self, context: context)
        let lifetime = try EnrollmentToken.validatedLifetime(body.expiresInSeconds)
        return JSONBody(try await EnrollmentService(hub: hub).issue(for: server, lifetime: lifetime), status: .created)
    }

    @Sendable func withdrawToken(_ request: Request, _ context: HubRequestContext) async throws -> JSONBody<Deleted> {
        try await servers.withdraw(token: try context.parameter("token"), of: try await server(context))
        return JSONBody(Deleted())
    }

    func server(_ context: HubRequestContext) async throws -> Server {
        try await servers.server(try context.parameter("server"), accountID: try context.accountID())
    }
}
