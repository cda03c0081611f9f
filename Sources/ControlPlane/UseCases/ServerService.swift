import BackupCore
import Foundation
import HubAPI
import LinkProtocol
import Sealing
import Store

/// Servers as use cases: adding one (with its first enrollment token), views with health, renaming,
/// removal and enrollment tokens. The API and the server pages both call these.
struct ServerService {
    let hub: HubServices

    /// Adds a server and issues its first enrollment token.
    func add(_ body: ServerRequest, accountID: String) async throws -> ServerCreated {
        try Access.require(.manageServers)
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

    /// Views with health: one narrow query for the job statuses of these servers only.
    func views(_ servers: [Server], accountID: String) async throws -> [ServerView] {
        let now = hub.clock.now()
        let byServer = Dictionary(grouping: try await hub.store.jobStatuses(accountID: accountID, serverIDs: servers.map(\.id)), by: \.serverID)
        let builds = hub.agentBuilds.all
        return servers.map { server in
            let online = server.isOnline(now: now)
            let jobs = (byServer[server.id] ?? []).map { hub.health($0, serverOnline: online, now: now) }
            return ServerView(
                server, now: now, health: ServerHealth.evaluate(enrolled: server.enrolledAt != nil, online: online, jobs: jobs),
                agentOutdated: server.enrolledAt == nil ? nil : AgentBuilds.isOutdated(agentVersion: server.agentVersion, builds: builds))
        }
    }

    /// What the server's agent last found on its Docker engine (no stacks and no date when it never reported).
    func stacks(of server: Server) async throws -> StackReport {
        try await hub.store.stackReport(accountID: server.accountID, serverID: server.id) ?? StackReport(stacks: [])
    }

    /// Asks the server's agent to look for Docker stacks now; the last report meanwhile.
    func discoverStacks(on server: Server) async throws -> StackReport {
        try Access.require(.manageServers)
        guard server.enrolledAt != nil else {
            throw DomainError(
                .conflict, field: "server", "server \(server.name) is not enrolled yet; enroll its agent first", reason: "not_enrolled")
        }
        let command = AgentCommand(id: ResourceID.make(.command), kind: .discoverStacks, createdAt: hub.clock.now())
        try await hub.store.enqueueCommand(command, accountID: server.accountID, serverID: server.id)
        return try await stacks(of: server)
    }

    /// Sends the agent the hub's builds to upgrade to. Refused when there is no build, the agent is
    /// not enrolled, already runs it, or predates upgrades (its version has no build id).
    func upgrade(_ server: Server) async throws -> AgentUpgradeStarted {
        try Access.require(.manageServers)
        let builds = hub.agentBuilds.all
        guard let first = builds.first else {
            throw DomainError(.conflict, "this hub serves no agent build; run scripts/build-agent and start mzpanel serve with --agent-dir")
        }
        guard server.enrolledAt != nil else { throw DomainError(.conflict, "server \(server.name) has no agent yet; install and enroll it first") }
        guard let version = server.agentVersion, version.contains("+") else {
            throw DomainError(
                .conflict,
                "the agent on \(server.name) (\(server.agentVersion ?? "unknown version")) predates upgrades from the hub; run the install line on it again (mzpanel servers add prints it)"
            )
        }
        guard AgentBuilds.isOutdated(agentVersion: version, builds: builds) == true else {
            throw DomainError(.conflict, "the agent on \(server.name) already runs this hub's build (\(version))")
        }
        let command = AgentCommand(
            id: ResourceID.make(.command), kind: .upgradeAgent, createdAt: hub.clock.now(),
            upgrade: UpgradeOrder(builds: Dictionary(uniqueKeysWithValues: builds.map { ($0.architecture, $0.sha256) })))
        try await hub.store.enqueueCommand(command, accountID: server.accountID, serverID: server.id)
        return AgentUpgradeStarted(serverID: server.id, commandID: command.id, fromVersion: server.agentVersion, toBuildID: first.buildID)
    }

    func rename(_ original: Server, with body: ServerUpdate) async throws -> Server {
        try Access.require(.manageServers)
        var server = original
        if let name = body.name { server.name = try Name.validate(name) }
        if let cap = body.maxConcurrentRuns { server.maxConcurrentRuns = try ConcurrencyCap.validated(cap, field: "maxConcurrentRuns") }
        try await hub.store.updateServer(server)
        if server.maxConcurrentRuns != original.maxConcurrentRuns { try await hub.notifyAgent(serverID: server.id, accountID: server.accountID) }
        return server
    }

    /// Removes a server, its jobs and sealed credentials (history stays); answers the destinations it could open.
    func remove(_ server: Server) async throws -> ServerDeleted {
        try Access.require(.deleteServers)
        guard let exposed = try await hub.store.deleteServer(accountID: server.accountID, id: server.id) else {
            throw DomainError(.notFound, "no server \"\(server.id)\" in this account")
        }
        return ServerDeleted(exposedDestinations: exposed)
    }

    /// Stores the account's certificate of the server's current key. The hub cannot make one (the
    /// signing key lives in the vault); it checks it against the vault's public signing key so a
    /// mistake is refused with a reason instead of stored.
    func certify(_ server: Server, with body: CertificateRequest) async throws -> Server {
        try Access.require(.manageServers)
        guard let publicKeyText = server.publicKey, let publicKey = Data(base64Encoded: publicKeyText), let fingerprint = server.keyFingerprint else {
            throw DomainError(
                .conflict, field: "keyFingerprint", "server \(server.name) is not enrolled yet, so it has no key to certify; enroll its agent first",
                reason: "not_enrolled")
        }
        guard body.keyFingerprint.trimmingSpaces == fingerprint else {
            throw DomainError(
                .conflict, field: "keyFingerprint",
                "server \(server.name)'s key is \(fingerprint), not \(body.keyFingerprint.trimmingSpaces): it enrolled again meanwhile; check the fingerprint on the box and certify again"
            )
        }
        guard let accountKey = try await hub.store.vault(accountID: server.accountID)?.signingKey.flatMap({ Data(base64Encoded: $0) }) else {
            throw DomainError(
                .conflict, field: "certificate",
                "this account's vault has no signing key yet; unlock the vault in the browser or CLI (`mzpanel servers trust`) to add it",
                reason: "no_signing_key")
        }
        guard
            ServerCertificate.isValid(
                body.certificate, accountID: server.accountID, serverID: server.id, publicKey: publicKey, accountKey: accountKey)
        else {
            throw DomainError.invalid(
                "certificate", "the certificate does not verify under this account's signing key for server \(server.name)'s key")
        }
        guard try await hub.store.certifyServer(accountID: server.accountID, id: server.id, publicKey: publicKeyText, certificate: body.certificate)
        else {
            throw DomainError(.conflict, field: "keyFingerprint", "server \(server.name) enrolled again meanwhile; certify its new key")
        }
        var certified = server
        certified.certificate = body.certificate
        return certified
    }

    /// Removes the server's certificate: clients no longer seal to it. Its agent can still open
    /// what was sealed to it before; the answer names those destinations to rotate.
    func revoke(_ server: Server) async throws -> CertificateRevoked {
        try Access.require(.manageServers)
        if let publicKey = server.publicKey {
            _ = try await hub.store.certifyServer(accountID: server.accountID, id: server.id, publicKey: publicKey, certificate: nil)
        }
        var revoked = server
        revoked.certificate = nil
        return CertificateRevoked(
            server: revoked, exposedDestinations: try await hub.store.destinationsSealed(accountID: server.accountID, serverID: server.id))
    }

    /// Withdraws one of the server's enrollment tokens.
    func withdraw(token id: String, of server: Server) async throws {
        try Access.require(.manageServers)
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
