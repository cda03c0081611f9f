import BackupCore
import Foundation
import HubAPI
import Hummingbird
import LinkProtocol
import ServiceLifecycle
import Store

/// The agents' side of the hub: enrollment, job definitions, event ingestion and commands.
/// Agents authenticate with `Authorization: Agent <credential>`; every call is confined to the
/// agent's own server and account.
struct AgentRoutes {
    let hub: HubServices

    /// How long a command poll may wait for work.
    static let maxWaitSeconds = 30

    func register(on api: inout APIRouter) {
        api.on(.post, "/api/agent/v1/enroll", summary: "Enroll an agent with a one-time token and register its public key",
               tag: "agent", authenticated: false, body: "EnrollRequest", response: "EnrollResponse", status: 201) { request, context in
            let body = try await request.decodeJSON(EnrollRequest.self, context: context)
            guard let key = Data(base64Encoded: body.publicKey), key.count == 32 else {
                throw APIError.badRequest("publicKey must be a base64 X25519 public key (32 bytes)", field: "publicKey")
            }
            let fingerprint = body.keyFingerprint.trimmingSpaces
            guard !fingerprint.isEmpty, fingerprint.count <= 128 else { throw APIError.badRequest("keyFingerprint is required", field: "keyFingerprint") }
            let version = String(body.agentVersion.prefix(64))
            let credential = Secrets.make(prefix: "mza")
            guard let server = try await hub.store.enroll(tokenHash: Secrets.hash(body.token.trimmingSpaces), publicKey: body.publicKey,
                                                          keyFingerprint: fingerprint, agentVersion: version,
                                                          credentialHash: Secrets.hash(credential), now: hub.clock.now())
            else {
                throw APIError(.unauthorized, code: "unauthorized", "the enrollment token is unknown, expired or already used; issue a new one with `mzpanel servers add` or POST /api/v1/servers/{server}/enrollment-tokens")
            }
            return JSONBody(EnrollResponse(serverID: server.id, serverName: server.name, accountID: server.accountID, credential: credential), status: .created)
        }
        api.on(.get, "/api/agent/v1/jobs", summary: "The calling agent's jobs with their destinations and the envelopes sealed to it",
               tag: "agent", response: "AgentJobSet") { request, _ in
            let server = try await agent(request)
            let jobs = try await hub.store.jobs(accountID: server.accountID, serverID: server.id, destinationID: nil)
            let destinations = Dictionary(uniqueKeysWithValues: try await hub.store.destinations(accountID: server.accountID).map { ($0.id, $0) })
            let envelopes = try await hub.store.envelopes(accountID: server.accountID, serverID: server.id)
            let peerDestinations = destinations.values.filter { $0.kind == .peer }
            let reports = peerDestinations.isEmpty ? [:] : try await hub.store.peerReports(accountID: server.accountID)
            let agentJobs = jobs.map { job in
                var certificates: [String: String] = [:]
                var usage: [String: PeerUsage] = [:]
                for id in job.destinationIDs where destinations[id]?.kind == .peer {
                    if let certificate = reports[id]?.certificate { certificates[id] = certificate }
                    if let quota = destinations[id]?.settings.quotaBytes {
                        usage[id] = PeerUsage(usedBytes: reports[id]?.usedBytes[server.id] ?? 0, quotaBytes: quota)
                    }
                }
                return AgentJob(job: job, destinations: job.destinationIDs.compactMap { destinations[$0] },
                                envelopes: envelopes.filter { job.destinationIDs.contains($0.destinationID) },
                                peerCertificates: certificates.isEmpty ? nil : certificates, peerUsage: usage.isEmpty ? nil : usage)
            }
            var stores: [PeerStore] = []
            for destination in peerDestinations.sorted(by: { $0.id < $1.id }) where destination.settings.peerServerID == server.id {
                let sealed = try await hub.store.envelopes(accountID: server.accountID, destinationID: destination.id)
                stores.append(PeerStore(destination: destination, logins: PeerLogins.lines(sealed)))
            }
            return JSONBody(AgentJobSet(serverID: server.id, jobs: agentJobs, peerStores: stores.isEmpty ? nil : stores))
        }
        api.on(.post, "/api/agent/v1/events", summary: "Deliver outbox events; each id is applied once and acknowledged",
               tag: "agent", body: "EventBatch", response: "EventAck") { request, context in
            let server = try await agent(request)
            let batch = try await request.decodeJSON(EventBatch.self, context: context)
            guard batch.events.count <= 500 else { throw APIError.badRequest("send at most 500 events per batch", field: "events") }
            var acknowledged: [String] = []
            for event in batch.events {
                guard !event.id.isEmpty, event.id.count <= 64 else { throw APIError.badRequest("an event id must be 1–64 characters", field: "events.id") }
                guard event.run.serverID == server.id else {
                    throw APIError.badRequest("event \(event.id) is about another server's run", field: "events.run.serverID")
                }
                _ = try await hub.store.ingest(event.runEvent, accountID: server.accountID, serverID: server.id, now: hub.clock.now())
                acknowledged.append(event.id)
            }
            return JSONBody(EventAck(acknowledged: acknowledged))
        }
        api.on(.put, "/api/agent/v1/peer-stores/{destination}", summary: "The storage server reports on a peer destination it serves (certificate, space)",
               tag: "agent", body: "PeerReport", response: "PeerReport") { request, context in
            let server = try await agent(request)
            let id = try context.parameter("destination")
            guard let destination = try await hub.store.destination(accountID: server.accountID, reference: id),
                  destination.kind == .peer, destination.settings.peerServerID == server.id else {
                throw APIError(.notFound, code: "not_found", "this server stores no peer destination \"\(id)\"")
            }
            var report = try await request.decodeJSON(PeerReport.self, context: context)
            report.destinationID = destination.id
            if let certificate = report.certificate {
                guard certificate.count <= 16 * 1024, certificate.hasPrefix("-----BEGIN CERTIFICATE-----") else {
                    throw APIError.badRequest("certificate must be one PEM certificate of at most 16 KiB", field: "certificate")
                }
            }
            guard report.usedBytes.count <= 10_000, (report.error?.count ?? 0) <= 2000 else {
                throw APIError.badRequest("the report is too large", field: "usedBytes")
            }
            let previous = try await hub.store.peerReports(accountID: server.accountID)[destination.id]
            try await hub.store.putPeerReport(report, accountID: server.accountID, serverID: server.id, now: hub.clock.now())
            // Sources pin the certificate and check their quota: a change reaches them with their next job sync.
            if previous?.certificate != report.certificate || previous?.usedBytes != report.usedBytes {
                for envelope in try await hub.store.envelopes(accountID: server.accountID, destinationID: destination.id) {
                    try await hub.notifyAgent(serverID: envelope.serverID, accountID: server.accountID)
                }
            }
            return JSONBody(report)
        }
        api.on(.get, "/api/agent/v1/commands", summary: "Long-poll for commands (run now, sync jobs); wait=0–30 seconds",
               tag: "agent", response: "CommandList", query: ["wait"]) { request, _ in
            let server = try await agent(request)
            let wait = try QueryParameters(request: request).int("wait") ?? 0
            guard (0...Self.maxWaitSeconds).contains(wait) else {
                throw APIError.badRequest("wait=\(wait) is out of range; use 0 to \(Self.maxWaitSeconds) seconds", field: "wait")
            }
            let deadline = ContinuousClock.now + .seconds(wait)
            while true {
                let commands = try await hub.store.pendingCommands(serverID: server.id)
                // A hub that is shutting down answers at once instead of holding the poll open.
                if !commands.isEmpty || ContinuousClock.now >= deadline || Task.isShuttingDownGracefully || Task.isCancelled {
                    return JSONBody(CommandList(commands: commands))
                }
                try await Task.sleep(for: .milliseconds(250))
            }
        }
        api.on(.post, "/api/agent/v1/commands/{command}/ack", summary: "Acknowledge a command the agent has taken",
               tag: "agent", response: "Deleted") { request, context in
            let server = try await agent(request)
            let id = try context.parameter("command")
            guard try await hub.store.ackCommand(serverID: server.id, id: id, at: hub.clock.now()) else {
                throw APIError(.notFound, code: "not_found", "no command \"\(id)\" for this server")
            }
            return JSONBody(Deleted())
        }
    }

    /// The server whose agent is calling; 401 without a valid agent credential.
    func agent(_ request: Request) async throws -> Server {
        guard let header = request.headers[.authorization], header.hasPrefix("Agent ") else {
            throw APIError(.unauthorized, code: "unauthorized", "agent calls need Authorization: Agent <credential> (from mzpanel-agent enroll)")
        }
        guard let server = try await hub.store.server(agentCredentialHash: Secrets.hash(String(header.dropFirst(6)).trimmingSpaces)) else {
            throw APIError(.unauthorized, code: "unauthorized", "the agent credential is not valid (the server may have been removed); enroll the agent again")
        }
        try await hub.store.touchServer(id: server.id, at: hub.clock.now())
        return server
    }
}

/// The htpasswd lines a storage server gets for a peer destination: each source's own login, and
/// recovery logins, which replace the lost server's line (one line per user).
enum PeerLogins {
    static func lines(_ envelopes: [SealedEnvelope]) -> [String] {
        var byUser: [String: String] = [:]
        for line in envelopes.compactMap(\.peerLogin) { byUser[String(line.prefix { $0 != ":" })] = line }
        for line in envelopes.compactMap(\.recoveryLogin) { byUser[String(line.prefix { $0 != ":" })] = line }
        return byUser.keys.sorted().compactMap { byUser[$0] }
    }
}
