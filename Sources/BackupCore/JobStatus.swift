import Foundation

/// A job's newest run in brief. The hub keeps it on the job's row as runs are recorded, so fleet
/// pages and alerts read one row per job instead of searching the run history.
public struct RunBrief: Sendable, Codable, Equatable {
    public var id: String
    public var status: RunStatus
    public var slot: Date?
    public var createdAt: Date
    public var finishedAt: Date?

    public init(id: String, status: RunStatus, slot: Date?, createdAt: Date, finishedAt: Date?) {
        self.id = id
        self.status = status
        self.slot = slot
        self.createdAt = createdAt
        self.finishedAt = finishedAt
    }

    public init(_ run: Run) {
        self.init(id: run.id, status: run.status, slot: run.slot, createdAt: run.createdAt, finishedAt: run.finishedAt)
    }
}

/// What health, fleet pages and alerts need of a job — no sources, retention or destination list,
/// so a fleet of thousands of jobs loads from one narrow query.
public struct JobStatus: Sendable, Equatable {
    public var id: String
    public var serverID: String
    public var name: String
    /// Backup (full, database) or repository check: alerts word their problem accordingly.
    public var kind: JobKind
    public var enabled: Bool
    public var schedule: Schedule
    public var createdAt: Date
    /// Seconds without a new snapshot after which the job is `stale`; nil = no such rule.
    public var staleAfter: Int?
    public var latestRun: RunBrief?
    /// When the newest snapshot was taken, and its size.
    public var newestSnapshotAt: Date?
    public var protectedBytes: Int64
    /// Jobs with scheduled drills: how often (seconds; nil: no drills), the newest drill in brief,
    /// and when the newest drill that passed ended.
    public var drillEvery: Int?
    public var lastDrill: RunBrief?
    public var provenAt: Date?
    /// When drills were turned on (nil: with the job, or unknown).
    public var drillSince: Date?
    /// The job's window and spread (docs/schedules.md): a slot is missed only once its shifted start plus the grace has passed.
    public var window: BackupWindow?
    public var spreadSeconds: Int?

    public init(
        id: String, serverID: String, name: String, kind: JobKind = .full, enabled: Bool, schedule: Schedule, createdAt: Date, staleAfter: Int?,
        latestRun: RunBrief?, newestSnapshotAt: Date?, protectedBytes: Int64
    ) {
        self.id = id
        self.serverID = serverID
        self.name = name
        self.kind = kind
        self.enabled = enabled
        self.schedule = schedule
        self.createdAt = createdAt
        self.staleAfter = staleAfter
        self.latestRun = latestRun
        self.newestSnapshotAt = newestSnapshotAt
        self.protectedBytes = protectedBytes
    }

    /// A job's status from the job and what is known of its runs and snapshots.
    public init(_ job: Job, latestRun: RunBrief?, newestSnapshotAt: Date?, protectedBytes: Int64 = 0) {
        self.init(
            id: job.id, serverID: job.serverID, name: job.name, kind: job.kind, enabled: job.enabled, schedule: job.schedule,
            createdAt: job.createdAt,
            staleAfter: job.staleAfter, latestRun: latestRun, newestSnapshotAt: newestSnapshotAt, protectedBytes: protectedBytes)
        drillEvery = job.drill.map { Int($0.frequency.interval) }
        window = job.window
        spreadSeconds = job.spreadSeconds
    }
}
