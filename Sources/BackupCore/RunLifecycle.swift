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

    public init(serverID: String, jobID: String, trigger: RunTrigger, status: RunStatus, createdAt: Date) {
        self.serverID = serverID
        self.jobID = jobID
        self.trigger = trigger
        self.status = status
        self.createdAt = createdAt
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
        if recorded == nil && claimed.trigger == .restore { return .ignore(.unknownRestore) }
        let restoring = recorded?.trigger == .restore
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
            if claimed.slot != nil && slotTaken { return .ignore(.slotTaken) }
            return .write(RunWrite(inserts: true, finishes: finishing, jobID: claimed.jobID, trigger: claimed.trigger, recordsSnapshot: finishing))
        }
    }

    /// A reported time, kept no later than the hub's clock allows (a snapshot dated in 2100 would be "protected" forever).
    public static func bounded(_ reported: Date, now: Date) -> Date {
        min(reported, now.addingTimeInterval(clockTolerance))
    }
}
