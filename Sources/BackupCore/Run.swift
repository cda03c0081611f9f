import Foundation

/// What started a run.
public enum RunTrigger: String, Sendable, Codable, CaseIterable {
    /// The box's systemd timer (or the daemon's own scheduler) fired a slot.
    case timer
    /// The hub's scheduler fired a slot.
    case hub
    /// A person or script asked for it (run now).
    case manual
    /// A restore (its plan is the run's `restore`).
    case restore
    /// A restore drill: a sample of the job's newest snapshot restored into a scratch location and
    /// checked, then removed (its plan is the run's `restore`, with `drill` set).
    case drill
    /// A copy of the job's snapshots from one of its destinations to another (`restic copy`,
    /// docs/operations.md "Repository care"); its one result is the target's, with `copiedFrom` set.
    case copy

    /// Restores and drills: planned by the hub, never the job's newest backup run.
    public var restores: Bool { self == .restore || self == .drill }
}

/// A run's state. `succeeded` only when every destination got its copy.
public enum RunStatus: String, Sendable, Codable, CaseIterable {
    case queued, running, succeeded, partial, failed, interrupted, cancelled

    public var isFinished: Bool { ![.queued, .running].contains(self) }

    /// The honest overall status from the per-destination outcomes.
    public static func combining(_ copies: [CopyStatus]) -> RunStatus {
        if copies.isEmpty { return .failed }
        let succeeded = copies.filter { $0 == .succeeded }.count
        if succeeded == copies.count { return .succeeded }
        return succeeded > 0 ? .partial : .failed
    }
}

public enum CopyStatus: String, Sendable, Codable, CaseIterable {
    case pending, running, succeeded, failed, skipped
}

/// One destination's outcome within a run.
public struct DestinationResult: Sendable, Codable, Equatable {
    public var destinationID: String
    public var status: CopyStatus
    /// Plain-words error when the copy failed (already redacted by the agent).
    public var error: String?
    public var resticSnapshotIDs: [String]
    public var bytesAdded: Int64
    public var bytesProcessed: Int64
    public var durationSeconds: Double?
    /// What a stack job's copy holds (stack jobs only; carried into the snapshot).
    public var stack: StackContents?
    /// Drill runs: what the drill restored and checked.
    public var drill: DrillEvidence?
    /// Backups and prunes: this server's repository at the destination afterwards (`restic stats`).
    public var repository: RepositoryStats?
    /// Copy runs: the destination the snapshots were copied from (this result is the target's).
    public var copiedFrom: String?
    /// Copy runs: the job's snapshots the target holds after the copy, by the run that made each.
    public var copiedSnapshots: [CopiedSnapshot]?

    public init(
        destinationID: String, status: CopyStatus, error: String? = nil, resticSnapshotIDs: [String] = [],
        bytesAdded: Int64 = 0, bytesProcessed: Int64 = 0, durationSeconds: Double? = nil, stack: StackContents? = nil,
        drill: DrillEvidence? = nil, copiedFrom: String? = nil, copiedSnapshots: [CopiedSnapshot]? = nil
    ) {
        self.copiedFrom = copiedFrom
        self.copiedSnapshots = copiedSnapshots
        self.drill = drill
        self.destinationID = destinationID
        self.status = status
        self.error = error
        self.resticSnapshotIDs = resticSnapshotIDs
        self.bytesAdded = bytesAdded
        self.bytesProcessed = bytesProcessed
        self.durationSeconds = durationSeconds
        self.stack = stack
    }
}

/// A copy run's report of one of the job's snapshots at the target: the run that made it (its
/// `run=` tag, which `restic copy` keeps) and its restic snapshots there.
public struct CopiedSnapshot: Sendable, Codable, Equatable {
    public var runID: String
    public var resticSnapshotIDs: [String]

    public init(runID: String, resticSnapshotIDs: [String]) {
        self.runID = runID
        self.resticSnapshotIDs = resticSnapshotIDs
    }
}

/// What a copy run copies: the job's snapshots from one of its destinations to another.
public struct CopyPlan: Sendable, Codable, Equatable {
    /// Destination ids.
    public var from: String
    public var to: String

    public init(from: String, to: String) {
        self.from = from
        self.to = to
    }
}

/// One execution of a job.
public struct Run: Sendable, Codable, Equatable {
    public var id: String
    public var accountID: String
    public var serverID: String
    public var jobID: String
    public var trigger: RunTrigger
    /// The scheduled elapse this run serves (nil for run-now).
    public var slot: Date?
    public var status: RunStatus
    public var createdAt: Date
    public var startedAt: Date?
    public var finishedAt: Date?
    public var bytesAdded: Int64
    public var bytesProcessed: Int64
    public var filesNew: Int64
    public var results: [DestinationResult]
    /// The last lines of the agent's log for this run, redacted.
    public var logExcerpt: String?
    /// Live progress while the run is running (the last report from the agent).
    public var progress: RunProgress?
    /// Restore runs: what is restored, from where, to where.
    public var restore: RestorePlan?
    /// Restore runs that need the account's signature (``RestorePlan/needsSignature(onto:)``).
    public var signature: RunSignature?

    public init(
        id: String, accountID: String, serverID: String, jobID: String, trigger: RunTrigger, slot: Date? = nil,
        status: RunStatus, createdAt: Date, startedAt: Date? = nil, finishedAt: Date? = nil, bytesAdded: Int64 = 0,
        bytesProcessed: Int64 = 0, filesNew: Int64 = 0, results: [DestinationResult] = [], logExcerpt: String? = nil, progress: RunProgress? = nil,
        restore: RestorePlan? = nil, signature: RunSignature? = nil
    ) {
        self.id = id
        self.accountID = accountID
        self.serverID = serverID
        self.jobID = jobID
        self.trigger = trigger
        self.slot = slot
        self.status = status
        self.createdAt = createdAt
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.bytesAdded = bytesAdded
        self.bytesProcessed = bytesProcessed
        self.filesNew = filesNew
        self.results = results
        self.logExcerpt = logExcerpt
        self.progress = progress
        self.restore = restore
        self.signature = signature
    }

    /// Largest log excerpt kept per run.
    public static let maxLogExcerptBytes = 16 * 1024
}

/// The restic snapshots one destination holds for a snapshot (one per source).
public struct SnapshotCopy: Sendable, Codable, Equatable {
    public var destinationID: String
    public var resticSnapshotIDs: [String]
    public var bytesAdded: Int64
    public var bytesTotal: Int64

    public init(destinationID: String, resticSnapshotIDs: [String], bytesAdded: Int64 = 0, bytesTotal: Int64 = 0) {
        self.destinationID = destinationID
        self.resticSnapshotIDs = resticSnapshotIDs
        self.bytesAdded = bytesAdded
        self.bytesTotal = bytesTotal
    }
}

/// The result of a successful (or partial) run: one restorable point in time, with a copy per
/// destination that received it.
public struct Snapshot: Sendable, Codable, Equatable {
    public var id: String
    public var accountID: String
    public var serverID: String
    public var jobID: String
    public var runID: String
    public var createdAt: Date
    public var copies: [SnapshotCopy]
    /// A stack job's snapshot: the stack it holds (docs/stacks.md).
    public var stack: StackContents?

    public init(
        id: String, accountID: String, serverID: String, jobID: String, runID: String, createdAt: Date, copies: [SnapshotCopy],
        stack: StackContents? = nil
    ) {
        self.id = id
        self.accountID = accountID
        self.serverID = serverID
        self.jobID = jobID
        self.runID = runID
        self.createdAt = createdAt
        self.copies = copies
        self.stack = stack
    }
}
