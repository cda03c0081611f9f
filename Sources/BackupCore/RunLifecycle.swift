import Foundation

/// What happened to a run, as the server running it reports it.
public enum RunEventKind: String, Sendable, Codable, CaseIterable {
    case started, progress, finished
}

/// One report about a run from the server that runs it: the run as the agent knows it, plus what
/// the end of a run brings (its snapshot, the copies retention removed).
public struct RunEvent: Sendable, Equatable {
    public var id: String
    public var kind: RunEventKind
    public var run: Run
    public var progress: RunProgress?
    public var snapshot: Snapshot?
    public var pruned: [PrunedCopies]

    public init(id: String, kind: RunEventKind, run: Run, progress: RunProgress? = nil, snapshot: Snapshot? = nil, pruned: [PrunedCopies] = []) {
        self.id = id
        self.kind = kind
        self.run = run
        self.progress = progress
        self.snapshot = snapshot
        self.pruned = pruned
    }
}

/// restic snapshot ids (full or 8-character short ids) removed from one destination.
public struct PrunedCopies: Codable, Sendable, Equatable {
    public var destinationID: String
    public var resticSnapshotIDs: [String]

    public init(destinationID: String, resticSnapshotIDs: [String]) {
        self.destinationID = destinationID
        self.resticSnapshotIDs = resticSnapshotIDs
    }
}

/// The hub's record of a run at the moment an event about it arrives.
public struct RecordedRun: Sendable, Equatable {
    public var serverID: String
    public var jobID: String
    public var trigger: RunTrigger
    public var status: RunStatus
    public var createdAt: Date
    /// The slot the run was recorded for: an event cannot move a run to another slot (and so take a slot from its job).
    public var slot: Date?

    public init(serverID: String, jobID: String, trigger: RunTrigger, status: RunStatus, createdAt: Date, slot: Date? = nil) {
        self.serverID = serverID
        self.jobID = jobID
        self.trigger = trigger
        self.status = status
        self.createdAt = createdAt
        self.slot = slot
    }
}

/// Why an event changes nothing. Ignored events are still acknowledged: re-sending them cannot help.
public enum RunEventRejection: String, Sendable, Equatable, CaseIterable {
    /// The run belongs to another server.
    case otherServersRun
    /// The run claims a job of another server.
    case otherServersJob
    /// A restore run the hub never created (only the hub creates restores).
    case unknownRestore
    /// Progress or a start for a run that has already finished (a late or re-sent packet).
    case alreadyFinished
    /// Progress for a run the hub does not know yet (progress is best effort).
    case unknownRun
    /// The slot already has its run from another trigger.
    case slotTaken
    /// A new run of a job the hub does not know (never created, or deleted).
    case unknownJob
    /// The status does not fit the event (a start that claims an end, an end that claims none).
    case statusMismatch
}

/// What the store must write for one event.
public struct RunWrite: Sendable, Equatable {
    /// A new run row (otherwise the existing row is updated).
    public var inserts: Bool
    /// The event ends the run: progress is cleared, and for backups the snapshot and pruned copies are recorded.
    public var finishes: Bool
    /// The job the run belongs to: the recorded one wins over what the event claims.
    public var jobID: String
    /// The run's trigger: the recorded one wins over what the event claims.
    public var trigger: RunTrigger
    /// Whether a snapshot and retention's removals may be recorded (a backup's first end, never a restore's).
    public var recordsSnapshot: Bool

    public init(inserts: Bool, finishes: Bool, jobID: String, trigger: RunTrigger, recordsSnapshot: Bool) {
        self.inserts = inserts
        self.finishes = finishes
        self.jobID = jobID
        self.trigger = trigger
        self.recordsSnapshot = recordsSnapshot
    }
}

/// The decision for one event.
public enum RunDecision: Sendable, Equatable {
    case ignore(RunEventRejection)
    /// Store the live progress of a running run.
    case progress
    case write(RunWrite)

    /// Whether the event changed the stored run (its watchers are woken).
    public var changesRun: Bool {
        if case .ignore = self { return false }
        return true
    }
}

/// A run's lifecycle: queued → running → succeeded | partial | failed | interrupted | cancelled.
/// A finished run never changes again; a run belongs to the server it was created for; a restore
/// run exists only when the hub created it. Hub ingestion asks `decide` and persists the answer.
public enum RunLifecycle {
    /// How far a report's times may run ahead of the hub's clock (clocks drift; protection dates must not).
    public static let clockTolerance: TimeInterval = 300

    /// Whether a run may move from one status to another.
    public static func canMove(from current: RunStatus, to next: RunStatus) -> Bool {
        switch current {
        case .queued: true
        case .running: next != .queued
        case .succeeded, .partial, .failed, .interrupted, .cancelled: false
        }
    }

    /// The job an event's run belongs to: the hub's record wins over what the event claims.
    public static func jobID(of event: RunEvent, recorded: RecordedRun?) -> String { recorded?.jobID ?? event.run.jobID }

    /// Decides what an event from `sender` does, given the hub's record of the run (nil when unknown),
    /// the server that owns the run's job (`jobID(of:recorded:)`; nil when the job is unknown) and
    /// whether the event's slot already has another run.
    public static func decide(_ event: RunEvent, sender: String, recorded: RecordedRun?, jobOwner: String?, slotTaken: Bool) -> RunDecision {
        let claimed = event.run
        if let recorded, recorded.serverID != sender { return .ignore(.otherServersRun) }
        if recorded == nil && claimed.trigger.restores { return .ignore(.unknownRestore) }
        let restoring = recorded?.trigger.restores == true
        // A restore run may read another server's snapshot (and so name its job); anything else is this server's own.
        if !restoring, let jobOwner, jobOwner != sender { return .ignore(.otherServersJob) }
        switch event.kind {
        case .progress:
            guard let recorded else { return .ignore(.unknownRun) }
            return recorded.status.isFinished ? .ignore(.alreadyFinished) : .progress
        case .started, .finished:
            let finishing = event.kind == .finished
            guard claimed.status.isFinished == finishing else { return .ignore(.statusMismatch) }
            if let recorded {
                guard canMove(from: recorded.status, to: claimed.status) else {
                    return .ignore(recorded.status.isFinished ? .alreadyFinished : .statusMismatch)
                }
                return .write(
                    RunWrite(
                        inserts: false, finishes: finishing, jobID: recorded.jobID, trigger: recorded.trigger,
                        recordsSnapshot: finishing && !restoring))
            }
            guard jobOwner != nil else { return .ignore(.unknownJob) }
            if claimed.slot != nil && slotTaken { return .ignore(.slotTaken) }
            return .write(RunWrite(inserts: true, finishes: finishing, jobID: claimed.jobID, trigger: claimed.trigger, recordsSnapshot: finishing))
        }
    }

    /// A reported time, kept no later than the hub's clock allows (a snapshot dated in 2100 would be "protected" forever).
    public static func bounded(_ reported: Date, now: Date) -> Date {
        min(reported, now.addingTimeInterval(clockTolerance))
    }

    /// The run as the hub stores it for a `write` decision: the recorded job, trigger, slot and
    /// creation time win over the event's; the reported times are put in order (created ≤ started ≤
    /// finished) and kept no later than the hub's clock allows. A run "created in 2100" would stay the
    /// job's newest run forever and freeze its health.
    public static func stored(_ claimed: Run, as change: RunWrite, recorded: RecordedRun?, now: Date) -> Run {
        var run = claimed
        run.jobID = change.jobID
        run.trigger = change.trigger
        run.restore = nil  // only the hub plans restores
        if let recorded {
            run.createdAt = recorded.createdAt
            run.slot = recorded.slot
        } else {
            run.createdAt = bounded(run.createdAt, now: now)
        }
        if let started = run.startedAt { run.startedAt = bounded(max(started, run.createdAt), now: now) }
        if let finished = run.finishedAt { run.finishedAt = bounded(max(finished, run.startedAt ?? run.createdAt), now: now) }
        return run
    }

    /// When a run's snapshot was taken: what the agent reports, within the run's own start and
    /// finish as stored (`stored(_:as:recorded:now:)`), so no snapshot is dated outside its run.
    public static func snapshotTime(_ reported: Date, of run: Run, now: Date) -> Date {
        let earliest = run.startedAt ?? run.createdAt
        let latest = run.finishedAt ?? now.addingTimeInterval(clockTolerance)
        return min(max(reported, earliest), max(latest, earliest))
    }
}
