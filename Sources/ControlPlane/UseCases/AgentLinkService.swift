import BackupCore
import Foundation
import HubAPI
import LinkProtocol
import ServiceLifecycle
import Store

/// The agents' side of the hub as use cases: enrollment, job definitions, run events, peer
/// reports and commands, each confined to the calling agent's own server and account.
struct AgentLinkService {
    let hub: HubServices

    /// How long a command poll may wait for work.
    static let maxWaitSeconds = 30

    /// Binds an agent's key to the server its one-time token was issued for; answers the agent's credential once.
    func enroll(_ body: EnrollRequest) async throws -> EnrollResponse {
        guard let key = Data(base64Encoded: body.publicKey), key.count == 32 else {
            throw DomainError.invalid("publicKey", "publicKey must be a base64 X25519 public key (32 bytes)")
        }
        let fingerprint = body.keyFingerprint.trimmingSpaces
        guard !fingerprint.isEmpty, fingerprint.count <= 128 else { throw DomainError.invalid("keyFingerprint", "keyFingerprint is required") }
        let version = String(body.agentVersion.prefix(64))
        let credential = Secrets.make(prefix: "mza")
        guard
            let server = try await hub.store.enroll(
                tokenHash: Secrets.hash(body.token.trimmingSpaces), publicKey: body.publicKey,
                keyFingerprint: fingerprint, agentVersion: version,
                credentialHash: Secrets.hash(credential), now: hub.clock.now())
        else {
            throw DomainError(
                .unauthorized,
                "the enrollment token is unknown, expired or already used; issue a new one with `mzpanel servers add` or POST /api/v1/servers/{server}/enrollment-tokens"
            )
        }
        return EnrollResponse(
            serverID: server.id, serverName: server.name, accountID: server.accountID, credential: credential,
            accountKey: try await hub.store.vault(accountID: server.accountID)?.signingKey)
    }

    /// The server's jobs with their destinations, the envelopes sealed to it, and the peer destinations it stores.
    func jobSet(for server: Server) async throws -> AgentJobSet {
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
            return AgentJob(
                job: job, destinations: job.destinationIDs.compactMap { destinations[$0] },
                envelopes: envelopes.filter { job.destinationIDs.contains($0.destinationID) },
                peerCertificates: certificates.isEmpty ? nil : certificates, peerUsage: usage.isEmpty ? nil : usage)
        }
        var stores: [PeerStore] = []
        for destination in peerDestinations.sorted(by: { $0.id < $1.id }) where destination.settings.peerServerID == server.id {
            let sealed = try await hub.store.envelopes(accountID: server.accountID, destinationID: destination.id)
            stores.append(PeerStore(destination: destination, logins: PeerLogins.lines(sealed)))
        }
        return AgentJobSet(
            serverID: server.id, jobs: agentJobs, peerStores: stores.isEmpty ? nil : stores,
            accountKey: try await hub.store.vault(accountID: server.accountID)?.signingKey, maxConcurrentRuns: server.maxConcurrentRuns)
    }

    /// Applies a batch of outbox events, each once, as the run lifecycle decides; acknowledges every event it read.
    func deliver(_ batch: EventBatch, from server: Server) async throws -> EventAck {
        guard batch.events.count <= 500 else { throw DomainError.invalid("events", "send at most 500 events per batch") }
        var acknowledged: [String] = []
        for event in batch.events {
            guard !event.id.isEmpty, event.id.count <= 64 else { throw DomainError.invalid("events.id", "an event id must be 1–64 characters") }
            guard event.run.serverID == server.id else {
                throw DomainError.invalid("events.run.serverID", "event \(event.id) is about another server's run")
            }
            let decision = try await hub.store.ingest(event.runEvent, accountID: server.accountID, serverID: server.id, now: hub.clock.now())
            if case .write(let write)? = decision, write.finishes, !write.trigger.restores {
                try await recordRepositoryStats(of: event.run, server: server)
            }
            acknowledged.append(event.id)
        }
        return EventAck(acknowledged: acknowledged)
    }

    /// Keeps the repository measurements a finished backup or prune reported, for the destinations of
    /// this account it names (a repeated delivery records nothing twice).
    private func recordRepositoryStats(of run: Run, server: Server) async throws {
        for result in run.results {
            guard let stats = result.repository, stats.isPlausible,
                try await hub.store.destination(accountID: server.accountID, reference: result.destinationID)?.id == result.destinationID
            else { continue }
            // When the run ended, never later than the hub's clock (an agent's clock cannot date a point into the future).
            let now = hub.clock.now()
            let point = RepositoryStatsPoint(serverID: server.id, runID: run.id, measuredAt: min(run.finishedAt ?? now, now), stats: stats)
            do {
                try await hub.store.recordRepositoryStats(point, accountID: server.accountID, destinationID: result.destinationID)
            } catch StoreError.duplicate {
                continue
            }
        }
    }

    /// Stores what a server's agent found on its Docker engine (bounded: at most 500 stacks).
    func report(_ report: StackReport, from server: Server) async throws -> StackReport {
        guard report.stacks.count <= 500, (report.error?.count ?? 0) <= 2000 else {
            throw DomainError.invalid("stacks", "the report is too large (at most 500 stacks)")
        }
        try await hub.store.putStackReport(report, accountID: server.accountID, serverID: server.id, now: hub.clock.now())
        return try await hub.store.stackReport(accountID: server.accountID, serverID: server.id) ?? report
    }

    /// Stores a storage server's report on a peer destination it serves; sources hear of a changed certificate or usage.
    func report(_ report: PeerReport, destination id: String, from server: Server) async throws -> PeerReport {
        guard let destination = try await hub.store.destination(accountID: server.accountID, reference: id),
            destination.kind == .peer, destination.settings.peerServerID == server.id
        else {
            throw DomainError(.notFound, "this server stores no peer destination \"\(id)\"")
        }
        var report = report
        report.destinationID = destination.id
        if let certificate = report.certificate {
            guard certificate.count <= 16 * 1024, certificate.hasPrefix("-----BEGIN CERTIFICATE-----") else {
                throw DomainError.invalid("certificate", "certificate must be one PEM certificate of at most 16 KiB")
            }
        }
        guard report.usedBytes.count <= 10_000, (report.error?.count ?? 0) <= 2000 else {
            throw DomainError.invalid("usedBytes", "the report is too large")
        }
        let previous = try await hub.store.peerReports(accountID: server.accountID)[destination.id]
        try await hub.store.putPeerReport(report, accountID: server.accountID, serverID: server.id, now: hub.clock.now())
        // Sources pin the certificate and check their quota: a change reaches them with their next job sync.
        if previous?.certificate != report.certificate || previous?.usedBytes != report.usedBytes {
            for envelope in try await hub.store.envelopes(accountID: server.accountID, destinationID: destination.id) {
                try await hub.notifyAgent(serverID: envelope.serverID, accountID: server.accountID)
            }
        }
        return report
    }

    /// The most often an agent's calls write its `last_seen_at`, in seconds.
    static let heartbeatInterval: TimeInterval = 30

    /// The server's pending commands, waiting up to `wait` seconds for one.
    func commands(for server: Server, wait: Int) async throws -> CommandList {
        guard (0...Self.maxWaitSeconds).contains(wait) else {
            throw DomainError.invalid("wait", "wait=\(wait) is out of range; use 0 to \(Self.maxWaitSeconds) seconds")
        }
        let deadline = ContinuousClock.now + .seconds(wait)
        let ticket = await hub.polls.begin(serverID: server.id)
        // A newer poll of the same server wakes this one, which then answers empty.
        await hub.store.commandBell.wake(server.id)
        while true {
            let generation = await hub.store.commandBell.generation(of: server.id)
            // No read while the last one found nothing and no command was rung since (within the safety poll).
            let commands: [AgentCommand]
            if await hub.polls.knownEmpty(serverID: server.id, generation: generation, now: .now, freshness: hub.configuration.safetyPoll) {
                commands = []
            } else {
                commands = try await hub.store.pendingCommands(serverID: server.id)
                if commands.isEmpty { await hub.polls.noteEmpty(serverID: server.id, generation: generation, at: .now) }
            }
            // A hub that is shutting down answers at once instead of holding the poll open.
            if !commands.isEmpty || ContinuousClock.now >= deadline || Task.isShuttingDownGracefully || Task.isCancelled {
                await hub.polls.end(serverID: server.id, ticket: ticket)
                return CommandList(commands: commands)
            }
            guard await hub.polls.isCurrent(serverID: server.id, ticket: ticket) else { return CommandList(commands: []) }
            // Woken when a command is queued (in this process, or notified by another replica); the
            // store is asked again at the latest after the safety poll (a notification that never came).
            await hub.store.commandBell.waitWhileServing(
                for: server.id, since: generation, upTo: min(hub.configuration.safetyPoll, max(deadline - ContinuousClock.now, .milliseconds(1))))
            guard await hub.polls.isCurrent(serverID: server.id, ticket: ticket) else { return CommandList(commands: []) }
        }
    }

    /// Marks a command of this server taken.
    func acknowledge(_ id: String, from server: Server) async throws {
        guard try await hub.store.ackCommand(serverID: server.id, id: id, at: hub.clock.now()) else {
            throw DomainError(.notFound, "no command \"\(id)\" for this server")
        }
    }

    /// The server whose agent presents this `Authorization` header; refused without a valid agent credential.
    /// `cached`: the caller reads only the server's id and account (the command poll), so a credential
    /// this replica checked lately is taken from `AgentCredentialCache` instead of the store.
    func authenticate(_ header: String?, userAgent: String? = nil, capabilities capabilityHeader: String? = nil, cached: Bool = false)
        async throws -> Server
    {
        guard let header, header.hasPrefix("Agent ") else {
            throw DomainError(.unauthorized, "agent calls need Authorization: Agent <credential> (from mzpanel-agent enroll)")
        }
        let hash = Secrets.hash(String(header.dropFirst(6)).trimmingSpaces)
        var known = cached ? await hub.credentials.server(hash: hash, bell: hub.store.credentialBell) : nil
        if known == nil {
            // Noted before the lookup: if any credential changed meanwhile, this one is not remembered.
            let bell = hub.store.credentialBell
            let rings = await bell.rings
            known = try await hub.store.server(agentCredentialHash: hash)
            if let found = known {
                let generation = await bell.generation(of: found.id)
                if await bell.rings == rings { await hub.credentials.remember(found, hash: hash, generation: generation) }
            }
        }
        guard let server = known else {
            throw DomainError(.unauthorized, "the agent credential is not valid (the server may have been removed); enroll the agent again")
        }
        // The agent names its version on every call (`User-Agent: mzpanel-agent/0.1.0+<build>`), so an
        // upgrade shows as soon as the new binary calls.
        let reported = Self.agentVersion(userAgent)
        var seen = server
        if let reported { seen.agentVersion = reported }
        // The daemon names its capabilities on every call too (`X-MZPanel-Agent-Capabilities`), so
        // `mzpanel-agent hub-backup enable`/`disable` shows at the next poll; a call without the header changes nothing.
        let capabilities = AgentCapability.parse(capabilityHeader)
        if let capabilities { seen.capabilities = capabilities }
        let now = hub.clock.now()
        let version = reported == server.agentVersion ? nil : reported
        let changed = capabilities == nil || capabilities == server.capabilities ? nil : capabilities
        // Heartbeats coalesce: `last_seen_at` is written at most every `heartbeatInterval` per agent
        // (online means seen within `Server.onlineWindow`, far longer), or at once when the
        // version or capabilities changed.
        let stale = server.lastSeenAt.map { now.timeIntervalSince($0) >= Self.heartbeatInterval || now < $0 } ?? true
        if stale || version != nil || changed != nil {
            try await hub.store.touchServer(id: server.id, at: now, agentVersion: version, capabilities: changed)
            seen.lastSeenAt = now
            await hub.credentials.seen(hash: hash, server: seen)
        }
        return seen
    }

    /// The version in `mzpanel-agent/VERSION`, if it is one (letters, digits, `.+-`, at most 64).
    static func agentVersion(_ userAgent: String?) -> String? {
        guard let userAgent, userAgent.hasPrefix("mzpanel-agent/") else { return nil }
        let version = userAgent.dropFirst("mzpanel-agent/".count)
        guard !version.isEmpty, version.count <= 64,
            version.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "." || $0 == "+" || $0 == "-") })
        else { return nil }
        return String(version)
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
