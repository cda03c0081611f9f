import BackupCore
import Foundation
import HubAPI
import Store

/// Servers as use cases: adding one (with its first enrollment token), views with health, renaming,
/// removal and enrollment tokens. The API and the server pages both call these.
struct ServerService {
    let hub: HubServices

    /// Adds a server and issues its first enrollment token.
    func add(_ body: ServerRequest, accountID: String) async throws -> ServerCreated {
        let server = Server(id: ResourceID.make(.server), accountID: accountID, name: try Name.validate(body.name), createdAt: hub.clock.now())
        try await hub.store.createServer(server)
        let enrollment = try await EnrollmentService(hub: hub).issue(for: server, lifetime: EnrollmentToken.defaultLifetimeSeconds)
        return ServerCreated(server: server, enrollment: enrollment)
    }

    /// One page of servers, newest first, with health.
    func list(accountID: String, after cursor: Cursor?, limit: Int) async throws -> ServerList {
        let page = try await hub.store.servers(accountID: accountID, after: cursor, limit: limit)
        return ServerList(servers: try await views(page.items, accountID: accountID), nextCursor: page.nextCursor?.token)
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

    func rename(_ original: Server, with body: ServerUpdate) async throws -> Server {
        var server = original
        if let name = body.name { server.name = try Name.validate(name) }
        try await hub.store.updateServer(server)
        return server
    }

    /// Removes a server, its jobs and sealed credentials (history stays); answers the destinations it could open.
    func remove(_ server: Server) async throws -> ServerDeleted {
        guard let exposed = try await hub.store.deleteServer(accountID: server.accountID, id: server.id) else {
            throw DomainError(.notFound, "no server \"\(server.id)\" in this account")
        }
        return ServerDeleted(exposedDestinations: exposed)
    }

    /// Withdraws one of the server's enrollment tokens.
    func withdraw(token id: String, of server: Server) async throws {
        let tokens = try await hub.store.enrollmentTokens(accountID: server.accountID, serverID: server.id)
        guard tokens.contains(where: { $0.id == id }), try await hub.store.deleteEnrollmentToken(accountID: server.accountID, id: id) else {
            throw DomainError(.notFound, "no enrollment token \"\(id)\" in this account")
        }
    }

    /// The server with this id or name.
    func server(_ reference: String, accountID: String) async throws -> Server {
        guard let server = try await hub.store.server(accountID: accountID, reference: reference) else {
            throw DomainError(.notFound, "no server \"\(reference)\" in this account")
        }
        return server
    }
}
