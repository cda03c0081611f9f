import BackupCore
import Crypto
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Logging
import ServiceLifecycle
import Store

/// Tells people when backups are in trouble, once, and when they are fine again: every interval
/// it evaluates each job of the accounts with notification channels (the same health the hub
/// shows), decides per channel with `AlertDecision`, queues notifications, and delivers due ones
/// with retries and backoff. State lives in the database, so a restarted hub neither forgets an
/// open problem nor repeats an alert.
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
                try await evaluate()
                try await deliver()
            } catch {
                logger.error("notifier pass failed", metadata: ["error.type": "\(type(of: error))"])
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .milliseconds(Int(hub.configuration.notifyInterval * 1000))) }
        }
    }

    /// Evaluates every job for every channel and queues what the rules say.
    func evaluate() async throws {
        let now = hub.clock.now()
        let byAccount = Dictionary(grouping: try await hub.store.signingChannels(accountID: nil), by: \.channel.accountID)
        for (accountID, channels) in byAccount {
            let servers = Dictionary(uniqueKeysWithValues: try await hub.store.servers(accountID: accountID).map { ($0.id, $0) })
            let jobs = try await hub.store.jobs(accountID: accountID, serverID: nil, destinationID: nil)
            let lastRuns = try await hub.store.lastRuns(accountID: accountID, jobIDs: jobs.map(\.id))
            var failureCounts: [String: Int] = [:]
            for signing in channels {
                let channel = signing.channel
                let states = try await hub.store.alertStates(channelID: channel.id)
                for job in jobs {
                    let server = servers[job.serverID]
                    let health = hub.health(job: job, lastRun: lastRuns[job.id], serverOnline: server?.isOnline(now: now) ?? false, now: now)
                    var failures = 0
                    if health == .failing {
                        if failureCounts[job.id] == nil { failureCounts[job.id] = try await consecutiveFailures(job, accountID: accountID) }
                        failures = failureCounts[job.id] ?? 0
                    }
                    let offlineFor = server?.lastSeenAt.map { now.timeIntervalSince($0) } ?? now.timeIntervalSince(job.createdAt)
                    let previous = states[job.id]
                    let (decision, state) = AlertDecision.decide(health: health, consecutiveFailures: failures, offlineFor: offlineFor,
                                                                 state: previous, rules: channel.rules, now: now)
                    guard decision != .none || state != previous else { continue }
                    var delivery: NotificationDelivery?
                    switch decision {
                    case .none: break
                    case .alert(let problem):
                        delivery = try message(channel, event: "job.\(problem)", job: job, server: server, health: health, run: lastRuns[job.id], now: now)
                    case .recovery(let problem):
                        delivery = try message(channel, event: "job.recovered", job: job, server: server, health: health, run: lastRuns[job.id], now: now,
                                               resolved: problem)
                    }
                    try await hub.store.putAlertState(channelID: channel.id, jobID: job.id, state: state, delivery: delivery)
                    if let delivery { logger.info("notification queued", metadata: ["notify.event": "\(delivery.event)", "notify.channel": "\(channel.id)"]) }
                }
            }
        }
    }

    func consecutiveFailures(_ job: Job, accountID: String) async throws -> Int {
        let runs = try await hub.store.runs(accountID: accountID, filter: RunFilter(jobID: job.id), after: nil, limit: 100).items
        return runs.prefix { [.failed, .interrupted, .cancelled].contains($0.status) }.count
    }

    /// The notification's body in the channel's format.
    func message(_ channel: NotificationChannel, event: String, job: Job, server: Server?, health: JobHealth, run: Run?, now: Date,
                 resolved: String? = nil) throws -> NotificationDelivery {
        let id = ResourceID.make(.delivery)
        let serverName = server?.name ?? job.serverID
        let link = hub.configuration.effectivePublicURL + "/backups/jobs/" + job.id
        let words: String = switch event {
        case "job.failing": "Backup job \(job.name) on \(serverName) is failing: \(run?.results.compactMap(\.error).first ?? "the last run failed")."
        case "job.partial": "Backup job \(job.name) on \(serverName) only partly succeeded: \(run?.results.compactMap(\.error).first ?? "a destination failed")."
        case "job.missed": "Backup job \(job.name) on \(serverName) missed its scheduled run (\(job.schedule.calendar), \(job.schedule.timeZone))."
        case "job.offline": "The server \(serverName) has not been heard from, so job \(job.name) cannot run."
        default: "Backup job \(job.name) on \(serverName) is fine again (it was \(resolved ?? "in trouble"))."
        }
        var details: [String: Any] = [
            "deliveryID": id, "url": link, "health": health.rawValue,
            "job": ["id": job.id, "name": job.name], "server": ["id": job.serverID, "name": serverName],
        ]
        if let resolved { details["resolved"] = resolved }
        if let run { details["run"] = ["id": run.id, "status": run.status.rawValue] }
        return try Self.delivery(id: id, channel: channel, event: event, message: words, link: link, details: details, now: now)
    }

    /// A notification in the channel's format: the webhook's JSON (event, message, time and
    /// `details`), or the text Slack and Discord show (with the link, when there is one).
    static func delivery(id: String = ResourceID.make(.delivery), channel: NotificationChannel, event: String, message: String, link: String?,
                         details: [String: Any] = [:], now: Date) throws -> NotificationDelivery {
        let object: [String: Any] = switch channel.kind {
        case .webhook: details.merging(["event": event, "message": message, "occurredAt": WebFormat.iso(now)]) { _, new in new }
        case .slack: ["text": message + (link.map { " <\($0)|Open in MZPanel>" } ?? "")]
        case .discord: ["content": message + (link.map { " " + $0 } ?? "")]
        }
        let body = String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self)
        return NotificationDelivery(id: id, accountID: channel.accountID, channelID: channel.id, event: event, body: body, nextAttemptAt: now, createdAt: now)
    }

    /// Sends due notifications; a failure is retried later with backoff.
    func deliver() async throws {
        let due = try await hub.store.dueDeliveries(now: hub.clock.now(), limit: 50)
        guard !due.isEmpty else { return }
        let channels = Dictionary(uniqueKeysWithValues: try await hub.store.signingChannels(accountID: nil).map { ($0.channel.id, $0) })
        for var delivery in due {
            let now = hub.clock.now()
            guard let channel = channels[delivery.channelID] else {
                delivery.attempts = NotificationDelivery.maxAttempts
                delivery.lastError = "the channel was deleted"
                try await hub.store.updateDelivery(delivery)
                continue
            }
            delivery.attempts += 1
            if let problem = await post(delivery, to: channel, at: now) {
                delivery.lastError = problem
                delivery.nextAttemptAt = now.addingTimeInterval(NotificationDelivery.backoff[min(delivery.attempts - 1, NotificationDelivery.backoff.count - 1)])
                logger.warning("notification not delivered", metadata: ["notify.delivery": "\(delivery.id)", "notify.attempt": "\(delivery.attempts)"])
            } else {
                delivery.deliveredAt = now
                delivery.lastError = nil
            }
            try await hub.store.updateDelivery(delivery)
        }
    }

    /// POSTs the body with its signature; nil when the receiver accepted it (2xx), else why not.
    func post(_ delivery: NotificationDelivery, to signing: SigningChannel, at now: Date) async -> String? {
        guard let url = URL(string: signing.channel.url) else { return "the channel URL is not valid" }
        var request = URLRequest(url: url, timeoutInterval: 10)
        request.httpMethod = "POST"
        request.httpBody = Data(delivery.body.utf8)
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.setValue("mzpanel-hub/\(hubVersion)", forHTTPHeaderField: "User-Agent")
        request.setValue(delivery.event, forHTTPHeaderField: "X-MZPanel-Event")
        request.setValue(delivery.id, forHTTPHeaderField: "X-MZPanel-Delivery")
        request.setValue(WebhookSignature.header(body: delivery.body, secret: signing.secret, at: now), forHTTPHeaderField: "X-MZPanel-Signature")
        do {
            let (_, response) = try await URLSession.shared.data(for: request)
            let status = (response as? HTTPURLResponse)?.statusCode ?? 0
            return (200..<300).contains(status) ? nil : "the receiver answered HTTP \(status)"
        } catch {
            return "the receiver could not be reached (\(error.localizedDescription))"
        }
    }
}

/// `X-MZPanel-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`: the
/// receiver recomputes it with its secret and rejects old timestamps (replays).
public enum WebhookSignature {
    public static func header(body: String, secret: String, at date: Date) -> String {
        let timestamp = String(Int(date.timeIntervalSince1970))
        return "t=\(timestamp),v1=\(hex(body: body, secret: secret, timestamp: timestamp))"
    }

    public static func hex(body: String, secret: String, timestamp: String) -> String {
        let code = HMAC<SHA256>.authenticationCode(for: Data((timestamp + "." + body).utf8), using: SymmetricKey(data: Data(secret.utf8)))
        return code.map { String(format: "%02x", $0) }.joined()
    }
}
