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
    /// A copy run: copy the job's snapshots between these destinations instead of backing up.
    public var copy: CopyPlan?

    public init(
        job: AgentJob, identity: AgentIdentity, runID: String, state: AgentState, log: RunLog,
        progress: @escaping @Sendable (RunProgress) async -> Void
    ) {
        self.job = job
        self.identity = identity
        self.runID = runID
        self.state = state
        self.log = log
        self.progress = progress
    }
}

/// What opening a destination's repository needs: the agent's identity and state, the sealed
/// credentials and peer certificates the hub sent, and whose repository it is (this server's for
/// backups; a restore onto a new server opens the lost server's).
struct RepositoryAccess: Sendable {
    var identity: AgentIdentity
    var state: AgentState
    var runID: String
    var envelopes: [SealedEnvelope]
    var peerCertificates: [String: String]?
    var repositoryServerID: String

    init(_ context: RunContext) {
        identity = context.identity
        state = context.state
        runID = context.runID
        envelopes = context.job.envelopes
        peerCertificates = context.job.peerCertificates
        repositoryServerID = context.identity.serverID
    }

    /// Access to one copy the hub sent with a restore, listing or download order.
    init(
        identity: AgentIdentity, state: AgentState, runID: String, destinationID: String, envelope: SealedEnvelope?, peerCertificate: String?,
        repositoryServerID: String
    ) {
        self.init(
            identity: identity, state: state, runID: runID, envelopes: envelope.map { [$0] } ?? [],
            peerCertificates: peerCertificate.map { [destinationID: $0] }, repositoryServerID: repositoryServerID)
    }

    init(
        identity: AgentIdentity, state: AgentState, runID: String, envelopes: [SealedEnvelope], peerCertificates: [String: String]?,
        repositoryServerID: String
    ) {
        self.identity = identity
        self.state = state
        self.runID = runID
        self.envelopes = envelopes
        self.peerCertificates = peerCertificates
        self.repositoryServerID = repositoryServerID
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
    /// The run's status when not the one its copies combine to: `cancelled` by a before hook.
    public var status: RunStatus?

    public init(
        results: [DestinationResult], filesNew: Int64 = 0, bytesAdded: Int64 = 0, bytesProcessed: Int64 = 0,
        removedSnapshotIDs: [String: [String]] = [:], status: RunStatus? = nil
    ) {
        self.status = status
        self.results = results
        self.filesNew = filesNew
        self.bytesAdded = bytesAdded
        self.bytesProcessed = bytesProcessed
        self.removedSnapshotIDs = removedSnapshotIDs
    }
}
