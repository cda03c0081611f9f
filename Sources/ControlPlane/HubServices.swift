import BackupCore
import Foundation
import LinkProtocol
import Logging
import Store

/// Settings of the control plane. Every key has a default; none is secret.
public struct HubConfiguration: Sendable {
    /// Address to listen on (`--listen`, default 127.0.0.1:8780).
    public var host: String = "127.0.0.1"
    public var port: Int = 8780
    /// The URL agents and browsers use to reach the hub (default http://HOST:PORT).
    public var publicURL: String?
    /// How long a browser session lasts (default 12 hours).
    public var sessionLifetime: TimeInterval = 12 * 3600
    /// Mark cookies `Secure` (default: when the public URL is https).
    public var secureCookies: Bool = false
    /// bcrypt cost for passwords (default 12; tests lower it).
    public var bcryptCost: UInt8 = 12
    /// Run the scheduler that triggers due slots (default on; router-only tests turn it off).
    public var runScheduler: Bool = true
    /// The scheduler's timing: how long after a slot it waits for the box's own timer
    /// (`MZPANEL_SCHEDULER_DELAY_SECONDS`, default 120) and how often it looks (default 20 s).
    public var scheduler = HubScheduler.Configuration()
    /// How long after a slot a run must have started before the slot counts as missed (health, alerts).
    public var missedGrace: TimeInterval = JobHealth.defaultGrace
    /// How long an agent's waiting long-poll goes without asking the store when nothing wakes it
    /// (`MZPANEL_SAFETY_POLL_SECONDS`, default 30: longer than an agent's 25 s poll, so an idle poll
    /// reads the store once): the catch-up for a lost wake-up. Every ring this process misses is
    /// either its own (rung in memory) or notified; a lost listener connection wakes every poll.
    public var safetyPoll: Duration = .seconds(30)
    /// How often the notifier evaluates job health and sends due notifications.
    public var notifyInterval: TimeInterval = 30
    /// Live run progress streams (server-sent events) one browser session may hold open (default 4).
    public var eventStreamsPerSession: Int = 4
    /// Live run progress streams the hub holds open in all (default 256).
    public var eventStreams: Int = 256
    /// Entries a snapshot copy's listing may have; a bigger one fails with a message (default 2,000,000).
    public var maxListingEntries: Int = 2_000_000
    /// Let notifications (webhooks, SMTP) reach loopback and private addresses (`--allow-private-webhooks`,
    /// default off). Link-local and cloud metadata addresses are refused whatever this says.
    public var allowPrivateWebhooks: Bool = false
    /// The directory with the agent builds the hub serves (`--agent-dir`, default DATA_DIR/agent;
    /// nil: none). `scripts/build-agent` writes them.
    public var agentDirectory: String?
    /// Reverse proxies whose `X-Forwarded-For` names the client (none: the socket's peer is the client).
    public var trustedProxies = TrustedProxies()
    /// This process among the hub's replicas, the holder of leases (the notifier's). `serve` uses the
    /// host name and listen address, so a restarted replica takes its own lease back at once; nil: random.
    public var instanceName: String?

    public init() {}

    public var effectivePublicURL: String { publicURL ?? "http://\(host):\(port)" }
}

/// What every route handler needs: the store, the clock, the settings.
public struct HubServices: Sendable {
    public let store: any HubStore
    public let clock: any HubClock
    public let configuration: HubConfiguration
    /// Downloads being relayed from agents to browsers (through the database on PostgreSQL, where
    /// the agent's posts may reach another replica than the browser's request).
    public let downloads: DownloadRelay
    /// Agent credentials checked lately (the command long-poll's lookup).
    let credentials = AgentCredentialCache()
    /// The command long-poll each agent holds (one per server).
    public let polls = CommandPolls()
    /// The live progress streams browsers hold.
    public let streams: EventStreamSlots
    /// Failed logins and the backoff they earned (web form and API).
    public let logins: LoginGuard
    /// Single sign-ons under way (state, nonce, PKCE verifier), as tickets in the database.
    let ssoLogins: SSOLogins
    /// This hub process among its replicas (the holder of leases such as the notifier's).
    public let instanceID: String

    /// The agent builds served to servers (install script, upgrades).
    public var agentBuilds: AgentBuilds { AgentBuilds(directory: configuration.agentDirectory) }

    /// bcrypt's own thread pool (logins).
    public let passwords: PasswordHasher

    public init(store: any HubStore, clock: any HubClock, configuration: HubConfiguration, passwords: PasswordHasher = .shared) {
        self.store = store
        self.clock = clock
        self.configuration = configuration
        self.instanceID = configuration.instanceName ?? "hub-" + UUID().uuidString.lowercased()
        self.streams = EventStreamSlots(perSession: configuration.eventStreamsPerSession, total: configuration.eventStreams)
        self.passwords = passwords
        self.downloads = DownloadRelay(shared: store.engineName == "postgresql" ? store : nil)
        self.logins = LoginGuard(store: store)
        self.ssoLogins = SSOLogins(store: store)
    }
}

extension HubServices {
    /// A job's health with this hub's missed-slot grace: the one evaluation pages, API, metrics and alerts share.
    func health(_ job: JobStatus, serverOnline: Bool, now: Date) -> JobHealth {
        JobHealth.evaluate(job, serverOnline: serverOnline, now: now, grace: configuration.missedGrace)
    }

    /// Tells an enrolled server's agent to fetch its job list again (jobs, destinations or envelopes changed).
    func notifyAgent(serverID: String, accountID: String) async throws {
        guard let server = try await store.server(accountID: accountID, reference: serverID) else { return }
        try await notifyAgent(of: server)
    }

    /// The same for a server already read: an enrolled server's agent gets a sync command.
    func notifyAgent(of server: Server) async throws {
        guard server.enrolledAt != nil else { return }
        let command = AgentCommand(id: ResourceID.make(.command), kind: .syncJobs, createdAt: clock.now())
        try await store.enqueueCommand(command, accountID: server.accountID, serverID: server.id)
    }

    /// Notifies every server that runs a job writing to this destination, and its peer storage server.
    func notifyAgents(using destination: Destination) async throws {
        var servers = Set(try await store.jobs(accountID: destination.accountID, serverID: nil, destinationID: destination.id).map(\.serverID))
        if let storage = destination.settings.peerServerID { servers.insert(storage) }
        for server in servers.sorted() { try await notifyAgent(serverID: server, accountID: destination.accountID) }
    }
}
