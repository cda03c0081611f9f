import BackupCore
import Crypto
import Foundation
import Logging
import ServiceLifecycle
import Store

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// Tells people when backups are in trouble, once, and when they are fine again: every interval
/// it evaluates each job and server of the accounts with notification channels (the same health
/// the hub shows), decides per channel with `AlertDecision`, queues notifications (and the daily
/// digest), and delivers due ones with retries and backoff (`NotificationSender`). State lives in
/// the database, so a restarted hub neither forgets an open problem nor repeats an alert.
public struct HubNotifier: Service {
    let hub: HubServices
    let logger: Logger

    public init(hub: HubServices, logger: Logger) {
        self.hub = hub
        self.logger = logger
    }

    public func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                try await pass()
            } catch {
                logger.error("notifier pass failed", metadata: ["error.type": "\(type(of: error))"])
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .milliseconds(Int(hub.configuration.notifyInterval * 1000))) }
        }
        try? await hub.store.releaseLease(Self.lease, holder: hub.instanceID)
    }

    /// The lease that lets one hub replica at a time evaluate and deliver.
    static let lease = "notifier"

    /// One pass — evaluate, then deliver — when this replica holds the notifier's lease (taken
    /// or renewed for three intervals, at least a minute). With several replicas on one database
    /// only the holder sends, so no alert goes out twice; when it dies its lease expires and
    /// another replica takes over. Returns whether this replica ran the pass.
    @discardableResult
    public func pass() async throws -> Bool {
        let now = hub.clock.now()
        let until = now.addingTimeInterval(max(3 * hub.configuration.notifyInterval, 60))
        guard try await hub.store.acquireLease(Self.lease, holder: hub.instanceID, until: until, now: now) else { return false }
        try await evaluate()
        try await deliver()
        return true
    }

    /// Evaluates every server and job for every channel and queues what the rules say.
    func evaluate() async throws {
        let now = hub.clock.now()
        let byAccount = Dictionary(grouping: try await hub.store.signingChannels(accountID: nil), by: \.channel.accountID)
        for (accountID, channels) in byAccount {
            let servers = Dictionary(uniqueKeysWithValues: try await hub.store.servers(accountID: accountID).map { ($0.id, $0) })
            let jobs = try await hub.store.jobStatuses(accountID: accountID, jobIDs: nil)
            let health = Dictionary(
                uniqueKeysWithValues: jobs.map { job in
                    (job.id, hub.health(job, serverOnline: servers[job.serverID]?.isOnline(now: now) ?? false, now: now))
                })
            var failureCounts: [String: Int] = [:]
            for signing in channels {
                let channel = signing.channel
                let states = try await hub.store.alertStates(channelID: channel.id)
                try await evaluateServers(servers.values, channel: channel, states: states, now: now)
                for job in jobs {
                    let jobHealth = health[job.id] ?? .ok
                    // An offline server is one alert of its own (above), not one per job; the job's
                    // own state waits until its server is back.
                    if jobHealth == .offline { continue }
                    var failures = 0
                    if jobHealth == .failing {
                        if failureCounts[job.id] == nil { failureCounts[job.id] = try await consecutiveFailures(jobID: job.id, accountID: accountID) }
                        failures = failureCounts[job.id] ?? 0
                    }
                    let previous = states[job.id]
                    let (decision, state) = AlertDecision.decide(
                        health: jobHealth, consecutiveFailures: failures, offlineFor: 0,
                        state: previous, rules: channel.rules, now: now)
                    guard decision != .none || state != previous else { continue }
                    var delivery: NotificationDelivery?
                    if decision != .none {
                        let brief = jobHealth == .unproven ? (job.lastDrill ?? job.latestRun) : job.latestRun
                        let run = try await brief.asyncFlatMap { try await hub.store.run(accountID: accountID, id: $0.id) }
                        delivery = try jobMessage(
                            channel, decision: decision, job: job, server: servers[job.serverID], health: jobHealth, run: run, now: now)
                    }
                    try await record(channel: channel, subject: job.id, state: state, delivery: delivery)
                }
                if let hour = channel.rules.digestHour, DigestSchedule.isDue(hour: hour, lastSentAt: states[Self.digestSubject]?.openedAt, now: now) {
                    let digest = try digestMessage(channel, jobs: jobs, health: health, servers: servers, now: now)
                    try await record(
                        channel: channel, subject: Self.digestSubject,
                        state: AlertState(problem: "digest", openedAt: now, alerted: true), delivery: digest)
                }
            }
        }
    }

    /// The alert-state key of the daily digest (its `openedAt` is when the last one was queued).
    static let digestSubject = "digest"

    /// One "server offline for longer than X" alert per server, and one recovery.
    func evaluateServers(_ servers: some Sequence<Server>, channel: NotificationChannel, states: [String: AlertState], now: Date) async throws {
        for server in servers where server.enrolledAt != nil {
            let subject = "server:" + server.id
            let online = server.isOnline(now: now)
            let offlineFor = server.lastSeenAt.map { now.timeIntervalSince($0) } ?? 0
            let previous = states[subject]
            let (decision, state) = AlertDecision.decide(
                health: online ? .ok : .offline, consecutiveFailures: 0, offlineFor: offlineFor,
                state: previous, rules: channel.rules, now: now)
            guard decision != .none || state != previous else { continue }
            let delivery = decision == .none ? nil : try serverMessage(channel, decision: decision, server: server, offlineFor: offlineFor, now: now)
            try await record(channel: channel, subject: subject, state: state, delivery: delivery)
        }
    }

    func record(channel: NotificationChannel, subject: String, state: AlertState?, delivery: NotificationDelivery?) async throws {
        try await hub.store.putAlertState(channelID: channel.id, jobID: subject, state: state, delivery: delivery)
        if let delivery { logger.info("notification queued", metadata: ["notify.event": "\(delivery.event)", "notify.channel": "\(channel.id)"]) }
    }

    func consecutiveFailures(jobID: String, accountID: String) async throws -> Int {
        let runs = try await hub.store.runs(accountID: accountID, filter: RunFilter(jobID: jobID), after: nil, limit: 100).items
        // Restores are runs of the job too, but say nothing of its backups.
        return runs.filter { !$0.trigger.restores }.prefix { [.failed, .interrupted, .cancelled].contains($0.status) }.count
    }
}
