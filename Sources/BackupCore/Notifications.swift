import Foundation

/// Where alerts go: a generic JSON webhook (signed with HMAC-SHA256), Slack's or Discord's
/// incoming-webhook format, or email through the user's SMTP server.
public enum ChannelKind: String, Sendable, Codable, CaseIterable {
    case webhook, slack, discord, email
}

/// An email channel's envelope: who it is from, who gets it, and the SMTP login name (the
/// password is kept with the channel's secret, never shown again).
public struct EmailSettings: Sendable, Codable, Equatable {
    public var from: String
    public var to: [String]
    public var username: String?

    public init(from: String, to: [String], username: String? = nil) {
        self.from = from
        self.to = to
        self.username = username
    }

    public func validated() throws(DomainError) -> EmailSettings {
        func address(_ text: String, _ field: String) throws(DomainError) -> String {
            let clean = text.trimmingSpaces
            let parts = clean.split(separator: "@", omittingEmptySubsequences: false)
            guard parts.count == 2, !parts[0].isEmpty, parts[1].contains("."), clean.count <= 254,
                !clean.contains(where: { $0.isWhitespace || "<>,;\"\\".contains($0) })
            else {
                throw .invalid(field, "\"\(clean.prefix(80))\" is not an email address like alerts@example.com")
            }
            return clean
        }
        var clean = EmailSettings(from: try address(from, "email.from"), to: [])
        for (index, recipient) in to.enumerated() { clean.to.append(try address(recipient, "email.to[\(index)]")) }
        guard !clean.to.isEmpty, clean.to.count <= 20 else { throw .invalid("email.to", "give 1 to 20 recipients") }
        if let username = username?.trimmingSpaces, !username.isEmpty {
            guard !username.contains(where: { $0.isNewline || $0 == "\"" }) else {
                throw .invalid("email.username", "the user name contains a quote or line break")
            }
            clean.username = username
        }
        return clean
    }
}

/// When the daily digest is due: once a day, at or after its hour (UTC), if none went out since.
public enum DigestSchedule {
    public static func isDue(hour: Int, lastSentAt: Date?, now: Date) -> Bool {
        let midnight = (now.timeIntervalSince1970 / 86_400).rounded(.down) * 86_400
        let slot = Date(timeIntervalSince1970: midnight + Double(hour) * 3600)
        return now >= slot && (lastSentAt ?? .distantPast) < slot
    }
}

/// When a channel is told: which problems, after how many failures, and recoveries.
public struct NotificationRules: Sendable, Codable, Equatable {
    /// Alert when the newest `failures` runs of a job all failed (1 = the first failure).
    public var failures: Int
    /// Alert when an expected slot passed without a run.
    public var missed: Bool
    /// Alert when a job's server has been offline this many minutes (nil: never).
    public var offlineMinutes: Int?
    /// Tell when a problem that was alerted is over.
    public var recovery: Bool
    /// After a problem ends, the same problem again within this many minutes is not alerted again (flapping).
    public var quietMinutes: Int
    /// Alert when a job has no snapshot newer than its own stale threshold.
    public var stale: Bool
    /// Send a daily digest of the fleet's health at this hour (UTC, 0–23); nil: no digest.
    public var digestHour: Int?

    public init(
        failures: Int = 1, missed: Bool = true, offlineMinutes: Int? = 30, recovery: Bool = true, quietMinutes: Int = 60,
        stale: Bool = true, digestHour: Int? = nil
    ) {
        self.failures = failures
        self.missed = missed
        self.offlineMinutes = offlineMinutes
        self.recovery = recovery
        self.quietMinutes = quietMinutes
        self.stale = stale
        self.digestHour = digestHour
    }

    /// Omitted fields take their defaults (rules stored before a field existed read the same way).
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = NotificationRules()
        self.init(
            failures: try c.decodeIfPresent(Int.self, forKey: .failures) ?? d.failures,
            missed: try c.decodeIfPresent(Bool.self, forKey: .missed) ?? d.missed,
            offlineMinutes: c.contains(.offlineMinutes) ? try c.decodeIfPresent(Int.self, forKey: .offlineMinutes) : d.offlineMinutes,
            recovery: try c.decodeIfPresent(Bool.self, forKey: .recovery) ?? d.recovery,
            quietMinutes: try c.decodeIfPresent(Int.self, forKey: .quietMinutes) ?? d.quietMinutes,
            stale: try c.decodeIfPresent(Bool.self, forKey: .stale) ?? d.stale,
            digestHour: try c.decodeIfPresent(Int.self, forKey: .digestHour))
    }

    /// What the rules tell about, in words ("first failure, missed runs, …").
    public var summary: String {
        var words = [failures == 1 ? "first failure" : "\(failures) failures in a row"]
        if missed { words.append("missed runs") }
        if stale { words.append("stale jobs") }
        if let offlineMinutes { words.append("servers offline \(offlineMinutes) min") }
        if recovery { words.append("recoveries") }
        if let digestHour { words.append("daily digest at \(digestHour):00 UTC") }
        return words.joined(separator: ", ")
    }

    public func validated() throws(DomainError) -> NotificationRules {
        guard (1...100).contains(failures) else { throw .invalid("rules.failures", "alert after 1 to 100 consecutive failures") }
        if let offlineMinutes, !(1...10_080).contains(offlineMinutes) {
            throw .invalid("rules.offlineMinutes", "use 1 to 10080 minutes, or leave it out")
        }
        guard (0...10_080).contains(quietMinutes) else { throw .invalid("rules.quietMinutes", "use 0 to 10080 minutes") }
        if let digestHour, !(0...23).contains(digestHour) {
            throw .invalid("rules.digestHour", "use an hour from 0 to 23 (UTC), or leave it out for no digest")
        }
        return self
    }
}

public struct NotificationChannel: Sendable, Codable, Equatable {
    public var id: String
    public var accountID: String
    public var name: String
    public var kind: ChannelKind
    public var url: String
    public var rules: NotificationRules
    public var createdAt: Date
    /// Email channels: sender, recipients, SMTP login name.
    public var email: EmailSettings?

    public init(
        id: String, accountID: String, name: String, kind: ChannelKind, url: String, rules: NotificationRules, createdAt: Date,
        email: EmailSettings? = nil
    ) {
        self.id = id
        self.accountID = accountID
        self.name = name
        self.kind = kind
        self.url = url
        self.rules = rules
        self.createdAt = createdAt
        self.email = email
    }

    /// Webhooks: an http(s) URL without credentials in it. Email: the SMTP server as
    /// `smtp://host:587` (STARTTLS when offered, required with a password) or `smtps://host:465`.
    public static func validatedURL(_ text: String, kind: ChannelKind = .webhook) throws(DomainError) -> String {
        let raw = text.trimmingSpaces
        let schemes = kind == .email ? ["smtp", "smtps"] : ["https", "http"]
        guard let url = URL(string: raw), let scheme = url.scheme, schemes.contains(scheme), let host = url.host, !host.isEmpty else {
            throw .invalid(
                "url",
                kind == .email
                    ? "\"\(raw)\" is not an SMTP server; use smtp://HOST:587 or smtps://HOST:465"
                    : "\"\(raw)\" is not an http(s) URL")
        }
        guard url.user == nil, url.password == nil else { throw .invalid("url", "put no credentials in the URL; the hub signs each request instead") }
        return raw
    }
}

/// A problem the alerting follows for one job: what it is and whether it was told.
public struct AlertState: Sendable, Codable, Equatable {
    public var problem: String
    public var openedAt: Date
    public var alerted: Bool
    /// When the previous problem of this job ended (for flap suppression).
    public var lastResolvedAt: Date?

    public init(problem: String, openedAt: Date, alerted: Bool, lastResolvedAt: Date? = nil) {
        self.problem = problem
        self.openedAt = openedAt
        self.alerted = alerted
        self.lastResolvedAt = lastResolvedAt
    }
}

/// The alerting rules as one pure decision: given a job's state now and what was alerted before,
/// what to send. One alert per ongoing problem, one recovery when it ends, none while flapping.
public enum AlertDecision: Equatable, Sendable {
    case none
    case alert(problem: String)
    case recovery(problem: String)

    /// - Parameters:
    ///   - health: the job's health now.
    ///   - consecutiveFailures: how many of its newest runs failed in a row.
    ///   - offlineFor: how long its server has been silent.
    ///   - state: the open problem (or the last resolution), if any.
    /// - Returns: what to send, and the state to keep (nil: nothing open, no recent resolution).
    public static func decide(
        health: JobHealth, consecutiveFailures: Int, offlineFor: TimeInterval, state: AlertState?,
        rules: NotificationRules, now: Date
    ) -> (AlertDecision, AlertState?) {
        let problem: String? =
            switch health {
            case .failing, .partial: consecutiveFailures >= rules.failures || health == .partial ? health.rawValue : nil
            case .missed: rules.missed ? "missed" : nil
            case .stale: rules.stale ? "stale" : nil
            case .offline: rules.offlineMinutes.map { offlineFor >= Double($0) * 60 } == true ? "offline" : nil
            case .unproven: "unproven"
            case .ok, .neverRun, .disabled: nil
            }
        let open = state.flatMap { $0.problem.isEmpty ? nil : $0 }
        switch (problem, open) {
        case (nil, nil):
            return (.none, state)
        case (nil, let current?):
            // The problem is over: tell if it was told; remember when, for flap suppression.
            let resolved = AlertState(problem: "", openedAt: current.openedAt, alerted: false, lastResolvedAt: now)
            return (current.alerted && rules.recovery ? .recovery(problem: current.problem) : .none, resolved)
        case (let found?, nil):
            let quiet = state?.lastResolvedAt.map { now.timeIntervalSince($0) < Double(rules.quietMinutes) * 60 } ?? false
            let opened = AlertState(problem: found, openedAt: now, alerted: !quiet, lastResolvedAt: state?.lastResolvedAt)
            return (quiet ? .none : .alert(problem: found), opened)
        case (let found?, let current?):
            // Still a problem (perhaps of another kind): no second alert for the same ongoing trouble.
            var kept = current
            kept.problem = found
            return (.none, kept)
        }
    }
}

/// One notification on its way to a channel: the event, the exact body that is signed and sent,
/// and how delivery went (retries with backoff until it is accepted or 8 attempts failed).
public struct NotificationDelivery: Sendable, Codable, Equatable {
    public static let maxAttempts = 8
    /// Seconds to wait after the n-th failed attempt.
    public static let backoff: [TimeInterval] = [5, 15, 60, 300, 900, 3600, 3600, 3600]

    public var id: String
    public var accountID: String
    public var channelID: String
    /// `job.failing`, `job.missed`, `job.stale`, `job.offline`, `job.partial`, `job.recovered`, `server.offline`,
    /// `server.recovered`, `digest`, `test`.
    public var event: String
    public var body: String
    public var attempts: Int
    public var nextAttemptAt: Date
    public var deliveredAt: Date?
    public var lastError: String?
    public var createdAt: Date

    public init(
        id: String, accountID: String, channelID: String, event: String, body: String, attempts: Int = 0, nextAttemptAt: Date,
        deliveredAt: Date? = nil, lastError: String? = nil, createdAt: Date
    ) {
        self.id = id
        self.accountID = accountID
        self.channelID = channelID
        self.event = event
        self.body = body
        self.attempts = attempts
        self.nextAttemptAt = nextAttemptAt
        self.deliveredAt = deliveredAt
        self.lastError = lastError
        self.createdAt = createdAt
    }
}
