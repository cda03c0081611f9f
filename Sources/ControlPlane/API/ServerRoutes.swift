import BackupCore
import Foundation
import HubAPI
import Hummingbird
import Store

/// Servers and their one-time enrollment tokens.
struct ServerRoutes {
    let hub: HubServices

    /// Views with health: one narrow query for all the account's job statuses, whatever the page size.
    func views(_ servers: [Server], accountID: String) async throws -> [ServerView] {
        let now = hub.clock.now()
        let byServer = Dictionary(grouping: try await hub.store.jobStatuses(accountID: accountID, jobIDs: nil), by: \.serverID)
        return servers.map { server in
            let online = server.isOnline(now: now)
            let jobs = (byServer[server.id] ?? []).map { hub.health($0, serverOnline: online, now: now) }
            return ServerView(server, now: now, health: ServerHealth.evaluate(enrolled: server.enrolledAt != nil, online: online, jobs: jobs))
        }
    }

    func register(on api: inout APIRouter) {
        api.on(.get, "/api/v1/servers", summary: "List servers, newest first, with cursor pagination", tag: "servers",
               response: "ServerList", query: ["cursor", "limit"]) { request, context in
            let query = QueryParameters(request: request)
            let accountID = try context.accountID()
            let page = try await hub.store.servers(accountID: accountID, after: try query.cursor(), limit: try query.limit())
            return JSONBody(ServerList(servers: try await views(page.items, accountID: accountID), nextCursor: page.nextCursor?.token))
        }
        api.on(.post, "/api/v1/servers", summary: "Add a server; answers its first enrollment token and the agent command",
               tag: "servers", body: "ServerRequest", response: "ServerCreated", status: 201) { request, context in
            let accountID = try context.accountID()
            let body = try await request.decodeJSON(ServerRequest.self, context: context)
            let server = Server(id: ResourceID.make(.server), accountID: accountID, name: try Name.validate(body.name), createdAt: hub.clock.now())
            try await hub.store.createServer(server)
            let enrollment = try await EnrollmentService(hub: hub).issue(for: server, lifetime: EnrollmentToken.defaultLifetimeSeconds)
            return JSONBody(ServerCreated(server: server, enrollment: enrollment), status: .created)
        }
        api.on(.get, "/api/v1/servers/{server}", summary: "Show a server (by id or name)", tag: "servers", response: "ServerView") { _, context in
            let server = try await server(context)
            return JSONBody(try await views([server], accountID: server.accountID)[0])
        }
        api.on(.patch, "/api/v1/servers/{server}", summary: "Rename a server", tag: "servers", body: "ServerUpdate", response: "ServerView") { request, context in
            var server = try await server(context)
            let body = try await request.decodeJSON(ServerUpdate.self, context: context)
            if let name = body.name { server.name = try Name.validate(name) }
            try await hub.store.updateServer(server)
            return JSONBody(ServerView(server, now: hub.clock.now()))
        }
        api.on(.delete, "/api/v1/servers/{server}", summary: "Remove a server, its jobs and sealed credentials (history stays)",
               tag: "servers", response: "ServerDeleted") { _, context in
            let server = try await server(context)
            guard let exposed = try await hub.store.deleteServer(accountID: server.accountID, id: server.id) else {
                throw APIError.notFound(.server, server.id)
            }
            return JSONBody(ServerDeleted(exposedDestinations: exposed))
        }
        api.on(.get, "/api/v1/servers/{server}/enrollment-tokens", summary: "List a server's enrollment tokens", tag: "servers",
               response: "EnrollmentList") { _, context in
            let server = try await server(context)
            return JSONBody(EnrollmentList(enrollmentTokens: try await hub.store.enrollmentTokens(accountID: server.accountID, serverID: server.id)))
        }
        api.on(.post, "/api/v1/servers/{server}/enrollment-tokens", summary: "Issue a one-time enrollment token", tag: "servers",
               body: "EnrollmentRequest", response: "EnrollmentCreated", status: 201) { request, context in
            let server = try await server(context)
            let body = try await request.decodeJSON(EnrollmentRequest.self, context: context)
            let lifetime = try EnrollmentToken.validatedLifetime(body.expiresInSeconds)
            return JSONBody(try await EnrollmentService(hub: hub).issue(for: server, lifetime: lifetime), status: .created)
        }
        api.on(.delete, "/api/v1/servers/{server}/enrollment-tokens/{token}", summary: "Withdraw an enrollment token", tag: "servers",
               response: "Deleted") { _, context in
            let server = try await server(context)
            let id = try context.parameter("token")
            let tokens = try await hub.store.enrollmentTokens(accountID: server.accountID, serverID: server.id)
            guard tokens.contains(where: { $0.id == id }), try await hub.store.deleteEnrollmentToken(accountID: server.accountID, id: id) else {
                throw APIError.notFound(.enrollmentToken, id)
            }
            return JSONBody(Deleted())
        }
    }

    func server(_ context: HubRequestContext) async throws -> Server {
        let reference = try context.parameter("server")
        guard let server = try await hub.store.server(accountID: try context.accountID(), reference: reference) else {
            throw APIError.notFound(.server, reference)
        }
        return server
    }
}
