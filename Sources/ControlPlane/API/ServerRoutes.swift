import BackupCore
import Foundation
import Hummingbird
import Store

/// Servers and their one-time enrollment tokens.
struct ServerRoutes {
    let hub: HubServices

    struct ServerRequest: Decodable { let name: String }
    struct ServerUpdate: Decodable { let name: String? }
    struct ServerList: Encodable, Sendable { let servers: [ServerView]; let nextCursor: String? }
    /// A server with whether its agent is online now.
    struct ServerView: Encodable, Sendable {
        let server: Server
        let online: Bool
        /// The worst of its jobs' health, or its link's (the same values the hub page shows).
        let health: ServerHealth?
        init(_ server: Server, now: Date, health: ServerHealth? = nil) { self.server = server; online = server.isOnline(now: now); self.health = health }
        func encode(to encoder: any Encoder) throws {
            try server.encode(to: encoder)
            var container = encoder.container(keyedBy: Keys.self)
            try container.encode(online, forKey: .online)
            try container.encodeIfPresent(health, forKey: .health)
        }
        enum Keys: String, CodingKey { case online, health }
    }

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
    struct EnrollmentRequest: Decodable { let expiresInSeconds: Int? }
    struct EnrollmentCreated: Encodable, Sendable {
        let enrollmentToken: EnrollmentToken
        /// The token itself, shown once.
        let secret: String
        /// The command to run on the server.
        let command: String
    }
    struct ServerCreated: Encodable, Sendable { let server: Server; let enrollment: EnrollmentCreated }
    struct EnrollmentList: Encodable, Sendable { let enrollmentTokens: [EnrollmentToken] }
    struct ServerDeleted: Encodable, Sendable {
        let deleted = true
        /// Destinations whose credentials that server could open: rotate their provider keys.
        let exposedDestinations: [Destination]
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
            let enrollment = try await issueEnrollment(for: server, lifetime: EnrollmentToken.defaultLifetimeSeconds)
            return JSONBody(ServerCreated(server: server, enrollment: enrollment), status: .created)
        }
        api.on(.get, "/api/v1/servers/{server}", summary: "Show a server (by id or name)", tag: "servers", response: "Server") { _, context in
            let server = try await server(context)
            return JSONBody(try await views([server], accountID: server.accountID)[0])
        }
        api.on(.patch, "/api/v1/servers/{server}", summary: "Rename a server", tag: "servers", body: "ServerUpdate", response: "Server") { request, context in
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
            return JSONBody(try await issueEnrollment(for: server, lifetime: lifetime), status: .created)
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

    func issueEnrollment(for server: Server, lifetime: Int) async throws -> EnrollmentCreated {
        let secret = Secrets.make(prefix: Secrets.enrollmentPrefix)
        let now = hub.clock.now()
        let token = EnrollmentToken(id: ResourceID.make(.enrollmentToken), accountID: server.accountID, serverID: server.id,
                                    createdAt: now, expiresAt: now.addingTimeInterval(TimeInterval(lifetime)))
        try await hub.store.createEnrollmentToken(token, hash: Secrets.hash(secret))
        let command = "mzpanel-agent enroll --url \(hub.configuration.effectivePublicURL) --token \(secret)"
        return EnrollmentCreated(enrollmentToken: token, secret: secret, command: command)
    }
}
