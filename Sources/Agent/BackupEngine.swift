import BackupCore
import LinkProtocol

/// What a run asks of the backup engine: copy the job to each of its destinations.
public protocol BackupEngine: Sendable {
    func perform(_ context: RunContext) async -> EngineOutcome
}

/// Everything the engine needs for one run.
public struct RunContext: Sendable {
    public var job: AgentJob
    public var identity: AgentIdentity
    public var runID: String
    public var state: AgentState
    public var log: RunLog
    /// Called with live progress (throttled by the receiver).
    public var progress: @Sendable (RunProgress) async -> Void

    public init(job: AgentJob, identity: AgentIdentity, runID: String, state: AgentState, log: RunLog,
                progress: @escaping @Sendable (RunProgress) async -> Void) {
        self.job = job
        self.identity = identity
        self.runID = runID
        self.state = state
        self.log = log
        self.progress = progress
    }
}

/// The engine's result: one result per destination, and totals.
public struct EngineOutcome: Sendable, Equatable {
    public var results: [DestinationResult]
    public var filesNew: Int64
    public var bytesAdded: Int64
    public var bytesProcessed: Int64
    /// Per destination, the restic snapshots (full ids) that retention removed. Not yet carried
    /// by the link protocol: the hub needs them to drop the snapshots it lists.
    public var removedSnapshotIDs: [String: [String]]

    public init(results: [DestinationResult], filesNew: Int64 = 0, bytesAdded: Int64 = 0, bytesProcessed: Int64 = 0,
                removedSnapshotIDs: [String: [String]] = [:]) {
        self.results = results
        self.filesNew = filesNew
        self.bytesAdded = bytesAdded
        self.bytesProcessed = bytesProcessed
        self.removedSnapshotIDs = removedSnapshotIDs
    }
}
