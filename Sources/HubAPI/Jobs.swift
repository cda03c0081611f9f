import BackupCore
import Foundation

/// `POST /api/v1/jobs`: a new job.
public struct JobRequest: Codable, Sendable {
    public let name: String
    /// Server id or name.
    public let server: String
    public let kind: String
    public let sources: JobSources?
    public let schedule: String
    public let timeZone: String?
    public let retention: RetentionPolicy?
    /// Destination ids or names.
    public let destinations: [String]
    public let enabled: Bool?
    /// Seconds without a new snapshot before the job is `stale`; 0 turns the rule off.
    public let staleAfter: Int?
    /// Check jobs: read 1/checkSubsets of the data per run (default 10).
    public let checkSubsets: Int?
    /// Healthchecks-style ping URL called by the agent at each run ("" removes it).
    public let pingURL: String?
    /// Shell commands run on the server around each backup (docs/operations.md, "Hooks").
    public let hooks: JobHooks?
    /// Retention per destination (id or name), replacing `retention` there.
    public let destinationRetention: [DestinationRetention]?
    /// Scheduled restore drills: `daily`, `weekly` or `off` (docs/operations.md, "Restore drills").
    public let drill: String?
    /// The drill's sample: `50` (files) or `2%` (of the bytes).
    public let drillSample: String?
    /// SQL assertions each drill runs on every database loaded, e.g. `SELECT count(*) FROM orders >= 10`.
    public let drillAssertions: [String]?
    /// Hours scheduled runs may start, `01:00-05:00` in the schedule's time zone (absent or "off": any time).
    public let window: String?
    /// Stable spread of scheduled starts, `30m` (absent or "off": none).
    public let spread: String?

    public init(
        name: String, server: String, kind: String, sources: JobSources?, schedule: String, timeZone: String?,
        retention: RetentionPolicy?, destinations: [String], enabled: Bool?, staleAfter: Int?,
        checkSubsets: Int? = nil, pingURL: String? = nil, hooks: JobHooks? = nil, destinationRetention: [DestinationRetention]? = nil,
        drill: String? = nil, drillSample: String? = nil, drillAssertions: [String]? = nil, window: String? = nil, spread: String? = nil
    ) {
        self.window = window
        self.spread = spread
        self.hooks = hooks
        self.destinationRetention = destinationRetention
        self.drill = drill
        self.drillSample = drillSample
        self.drillAssertions = drillAssertions
        self.name = name
        self.server = server
        self.kind = kind
        self.sources = sources
        self.schedule = schedule
        self.timeZone = timeZone
        self.retention = retention
        self.destinations = destinations
        self.enabled = enabled
        self.staleAfter = staleAfter
        self.checkSubsets = checkSubsets
        self.pingURL = pingURL
    }
}

/// `PATCH /api/v1/jobs/{job}`: what changes; absent fields stay as they are.
public struct JobUpdate: Codable, Sendable {
    public let name: String?
    public let kind: String?
    public let sources: JobSources?
    public let schedule: String?
    public let timeZone: String?
    public let retention: RetentionPolicy?
    public let destinations: [String]?
    public let enabled: Bool?
    /// Seconds without a new snapshot before the job is `stale`; 0 turns the rule off.
    public let staleAfter: Int?
    /// Check jobs: read 1/checkSubsets of the data per run (default 10).
    public let checkSubsets: Int?
    /// Healthchecks-style ping URL called by the agent at each run ("" removes it).
    public let pingURL: String?
    /// The job's hooks as they will be (replacing the whole set; `{}` removes every hook).
    public let hooks: JobHooks?
    /// Retention per destination (id or name) as it will be (replacing the whole list; `[]` removes it).
    public let destinationRetention: [DestinationRetention]?
    /// Scheduled restore drills: `daily`, `weekly` or `off`.
    public let drill: String?
    /// The drill's sample: `50` (files) or `2%` (of the bytes).
    public let drillSample: String?
    /// SQL assertions each drill runs on every database loaded ([] removes them).
    public let drillAssertions: [String]?
    /// Hours scheduled runs may start, `01:00-05:00` ("off" removes the window).
    public let window: String?
    /// Stable spread of scheduled starts, `30m` ("off" removes it).
    public let spread: String?
    /// The job as it will be after this change, signed with the account key: stored with the
    /// change in one write, so agents never see the change unsigned (docs/sealing.md).
    public let manifest: SignedManifest?

    /// Whether the change touches a field the job's manifest signs (``JobManifest``): a new
    /// signed field joins here too. Name, enabled and staleness are not signed.
    public var touchesManifest: Bool {
        kind != nil || sources != nil || schedule != nil || timeZone != nil || retention != nil || destinations != nil
            || checkSubsets != nil || pingURL != nil || hooks != nil
            || destinationRetention != nil
            || drill != nil || drillSample != nil || drillAssertions != nil
            || window != nil || spread != nil
    }

    public init(
        name: String? = nil, kind: String? = nil, sources: JobSources? = nil, schedule: String? = nil, timeZone: String? = nil,
        retention: RetentionPolicy? = nil, destinations: [String]? = nil, enabled: Bool? = nil, staleAfter: Int? = nil,
        checkSubsets: Int? = nil, pingURL: String? = nil, hooks: JobHooks? = nil, destinationRetention: [DestinationRetention]? = nil,
        drill: String? = nil, drillSample: String? = nil, drillAssertions: [String]? = nil,
        window: String? = nil, spread: String? = nil,
        manifest: SignedManifest? = nil
    ) {
        self.window = window
        self.spread = spread
        self.drill = drill
        self.drillSample = drillSample
        self.drillAssertions = drillAssertions
        self.manifest = manifest
        self.hooks = hooks
        self.destinationRetention = destinationRetention
        self.name = name
        self.kind = kind
        self.sources = sources
        self.schedule = schedule
        self.timeZone = timeZone
        self.retention = retention
        self.destinations = destinations
        self.enabled = enabled
        self.staleAfter = staleAfter
        self.checkSubsets = checkSubsets
        self.pingURL = pingURL
    }
}

/// A job with what people ask next: when it runs and what it keeps, in words (the job's fields, flattened).
public struct JobView: Codable, Sendable {
    public let job: Job
    public let onCalendar: String
    public let nextRunAt: Date?
    public let retentionSummary: String
    public let health: JobHealth?
    public let lastRun: LastRun?
    /// The job's server by name, for people (listings fill it in).
    public let serverName: String?
    /// Whether the job carries a signature that still matches it (docs/sealing.md).
    public let manifestState: ManifestState?
    /// The newest restore drill in brief, and when the newest passing one ended ("last proven restorable").
    public let lastDrill: LastRun?
    public let provenAt: Date?

    public init(
        _ job: Job, now: Date, health: JobHealth? = nil, lastRun: RunBrief? = nil, serverName: String? = nil, manifestState: ManifestState? = nil,
        lastDrill: RunBrief? = nil, provenAt: Date? = nil
    ) {
        self.lastDrill = lastDrill.map(LastRun.init)
        self.provenAt = provenAt
        self.job = job
        self.manifestState = manifestState
        self.health = health
        self.lastRun = lastRun.map(LastRun.init)
        self.onCalendar = job.schedule.onCalendarLine
        self.nextRunAt = job.enabled ? job.nextStart(after: now) : nil
        self.retentionSummary = job.retention.summary
        self.serverName = serverName
    }

    public init(from decoder: any Decoder) throws {
        job = try Job(from: decoder)
        let container = try decoder.container(keyedBy: Keys.self)
        onCalendar = try container.decode(String.self, forKey: .onCalendar)
        nextRunAt = try container.decodeIfPresent(Date.self, forKey: .nextRunAt)
        retentionSummary = try container.decode(String.self, forKey: .retentionSummary)
        health = try container.decodeIfPresent(JobHealth.self, forKey: .health)
        lastRun = try container.decodeIfPresent(LastRun.self, forKey: .lastRun)
        serverName = try container.decodeIfPresent(String.self, forKey: .serverName)
        manifestState = try container.decodeIfPresent(ManifestState.self, forKey: .manifestState)
        lastDrill = try container.decodeIfPresent(LastRun.self, forKey: .lastDrill)
        provenAt = try container.decodeIfPresent(Date.self, forKey: .provenAt)
    }

    public func encode(to encoder: any Encoder) throws {
        try job.encode(to: encoder)
        var container = encoder.container(keyedBy: Keys.self)
        try container.encode(onCalendar, forKey: .onCalendar)
        try container.encodeIfPresent(nextRunAt, forKey: .nextRunAt)
        try container.encode(retentionSummary, forKey: .retentionSummary)
        try container.encodeIfPresent(health, forKey: .health)
        try container.encodeIfPresent(lastRun, forKey: .lastRun)
        try container.encodeIfPresent(serverName, forKey: .serverName)
        try container.encodeIfPresent(manifestState, forKey: .manifestState)
        try container.encodeIfPresent(lastDrill, forKey: .lastDrill)
        try container.encodeIfPresent(provenAt, forKey: .provenAt)
    }
    enum Keys: String, CodingKey { case onCalendar, nextRunAt, retentionSummary, health, lastRun, serverName, manifestState, lastDrill, provenAt }
}

/// A job's newest run in brief.
public struct LastRun: Codable, Sendable {
    public let id: String
    public let status: RunStatus
    public let createdAt: Date
    public let finishedAt: Date?
    public init(_ run: RunBrief) {
        id = run.id
        status = run.status
        createdAt = run.createdAt
        finishedAt = run.finishedAt
    }
}

/// One page of jobs.
public struct JobList: Codable, Sendable {
    public let jobs: [JobView]
    public let nextCursor: String?
    public init(jobs: [JobView], nextCursor: String?) {
        self.jobs = jobs
        self.nextCursor = nextCursor
    }
}

/// `PUT /api/v1/jobs/{job}/manifest` and `PUT /api/v1/destinations/{destination}/manifest`: a
/// manifest signed in the browser or CLI with the account key.
public struct ManifestRequest: Codable, Sendable {
    public var manifest: SignedManifest
    public init(manifest: SignedManifest) { self.manifest = manifest }
}
