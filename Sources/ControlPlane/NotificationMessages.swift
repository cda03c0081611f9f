import BackupCore
import Foundation
import Store

/// What notifications say: one sentence a person can act on, a link, and (for webhooks) the
/// details as JSON; email gets a subject and the same text.
extension HubNotifier {
    func jobMessage(
        _ channel: NotificationChannel, decision: AlertDecision, job: JobStatus, server: Server?, health: JobHealth, run: Run?,
        now: Date
    ) throws -> NotificationDelivery? {
        let serverName = server?.name ?? job.serverID
        let error = run?.results.compactMap(\.error).first
        let (event, words): (String, String)
        switch decision {
        case .none: return nil
        case .alert(let problem):
            event = "job.\(problem)"
            words =
                switch problem {
                case "failing" where job.kind == .check:
                    "The repository check \(job.name) on \(serverName) found a problem: \(error ?? "the last check failed")."
                case "failing" where job.kind == .prune:
                    "The repository prune \(job.name) on \(serverName) failed: \(error ?? "the last prune failed")."
                case "failing": "Backup job \(job.name) on \(serverName) is failing: \(error ?? "the last run failed")."
                case "partial": "Backup job \(job.name) on \(serverName) only partly succeeded: \(error ?? "a destination failed")."
                case "missed":
                    "Backup job \(job.name) on \(serverName) missed its scheduled run (\(job.schedule.calendar), \(job.schedule.timeZone))."
                case "stale":
                    "Backup job \(job.name) on \(serverName) has no snapshot newer than its limit of \(WebFormat.duration(Double(job.staleAfter ?? 0)))."
                case "unproven":
                    "Backup job \(job.name) on \(serverName) is not proven restorable: \(Self.drillWords(job.lastDrill))\(error.map { " (\($0))" } ?? "")."
                default: "Backup job \(job.name) on \(serverName) is \(problem)."
                }
        case .recovery(let problem):
            event = "job.recovered"
            words = "Backup job \(job.name) on \(serverName) is fine again (it was \(problem))."
        }
        let link = hub.configuration.effectivePublicURL + "/backups/jobs/" + job.id
        var details: [String: Any] = [
            "url": link, "health": health.rawValue, "job": ["id": job.id, "name": job.name],
            "server": ["id": job.serverID, "name": serverName],
        ]
        if case .recovery(let problem) = decision { details["resolved"] = problem }
        if let run { details["run"] = ["id": run.id, "status": run.status.rawValue] }
        return try Self.delivery(channel: channel, event: event, message: words, link: link, details: details, now: now)
    }

    static func drillWords(_ drill: RunBrief?) -> String {
        guard let drill else { return "no restore drill passed yet" }
        return drill.status == .succeeded ? "no restore drill passed recently" : "its last restore drill \(drill.status.rawValue)"
    }

    func serverMessage(_ channel: NotificationChannel, decision: AlertDecision, server: Server, offlineFor: TimeInterval, now: Date) throws
        -> NotificationDelivery
    {
        let recovered = if case .recovery = decision { true } else { false }
        let words =
            recovered
            ? "The server \(server.name) is reachable again; its jobs run as scheduled."
            : "The server \(server.name) has not been heard from for \(WebFormat.duration(offlineFor)); its backups cannot be followed until its agent is back."
        let link = hub.configuration.effectivePublicURL + "/backups/servers/" + server.id
        let details: [String: Any] = [
            "url": link, "server": ["id": server.id, "name": server.name],
            "lastSeenAt": server.lastSeenAt.map(WebFormat.iso) ?? NSNull(),
        ]
        return try Self.delivery(
            channel: channel, event: recovered ? "server.recovered" : "server.offline", message: words, link: link, details: details, now: now)
    }

    /// The daily digest: counts by health and the jobs that need attention.
    func digestMessage(_ channel: NotificationChannel, jobs: [JobStatus], health: [String: JobHealth], servers: [String: Server], now: Date) throws
        -> NotificationDelivery
    {
        var counts: [String: Int] = [:]
        for job in jobs { counts[(health[job.id] ?? .ok).rawValue, default: 0] += 1 }
        let trouble: [JobHealth] = [.failing, .partial, .missed, .stale, .offline, .unproven]
        let attention = jobs.filter { trouble.contains(health[$0.id] ?? .ok) }
        let summary = JobHealth.allCases.compactMap { state in counts[state.rawValue].map { "\($0) \(WebFormat.healthLabel(state).lowercased())" } }
        var words =
            "Daily backup digest: \(jobs.count) jobs on \(servers.count) servers — "
            + (summary.isEmpty ? "no jobs yet" : summary.joined(separator: ", ")) + "."
        if attention.isEmpty {
            words += " Nothing needs attention."
        } else {
            words +=
                " Needs attention: "
                + attention.prefix(20).map { job in
                    "\(job.name) on \(servers[job.serverID]?.name ?? job.serverID) (\(WebFormat.healthLabel(health[job.id] ?? .ok).lowercased()))"
                }.joined(separator: "; ") + (attention.count > 20 ? "; and \(attention.count - 20) more" : "") + "."
        }
        let link = hub.configuration.effectivePublicURL + "/backups"
        let details: [String: Any] = [
            "url": link, "counts": counts, "attention": attention.map { ["id": $0.id, "name": $0.name, "health": (health[$0.id] ?? .ok).rawValue] },
        ]
        return try Self.delivery(channel: channel, event: "digest", message: words, link: link, details: details, now: now)
    }

    /// A notification in the channel's format: the webhook's JSON (event, message, time and
    /// `details`), the text Slack and Discord show (with the link), or an email's subject and text.
    static func delivery(
        id: String = ResourceID.make(.delivery), channel: NotificationChannel, event: String, message: String, link: String?,
        details: [String: Any] = [:], now: Date
    ) throws -> NotificationDelivery {
        let object: [String: Any] =
            switch channel.kind {
            case .webhook:
                details.merging(["event": event, "message": message, "occurredAt": WebFormat.iso(now), "deliveryID": id]) { _, new in new }
            case .slack: ["text": message + (link.map { " <\($0)|Open in MZPanel>" } ?? "")]
            case .discord: ["content": message + (link.map { " " + $0 } ?? "")]
            case .email:
                [
                    "subject": "[MZPanel] " + subject(event: event, message: message),
                    "text": message + (link.map { "\n\nOpen in MZPanel: " + $0 } ?? "") + "\n",
                ]
            }
        let body = String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self)
        return NotificationDelivery(
            id: id, accountID: channel.accountID, channelID: channel.id, event: event, body: body, nextAttemptAt: now, createdAt: now)
    }

    /// A short subject line: the message's first clause, at most 120 characters.
    static func subject(event: String, message: String) -> String {
        let first = message.split(separator: ":", maxSplits: 1).first.map(String.init) ?? message
        let line = first.replacingOccurrences(of: "\n", with: " ")
        return line.count > 120 ? String(line.prefix(117)) + "…" : line
    }
}
