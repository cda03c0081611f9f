import BackupCore
import Foundation
import HubAPI
import LinkProtocol
import Logging
import Synchronization

/// Runs started by the daemon, each as a child process `mzpanel-agent run …` (so a crash of one
/// run never takes the daemon down, and the run's own slot claim and outbox logic apply).
public final class ChildRuns: Sendable {
    private let children = Mutex<[String: Process]>([:])
    private let agentBinary: String
    private let stateDirectory: String
    private let logger: Logger

    public init(agentBinary: String, stateDirectory: String, logger: Logger) {
        self.agentBinary = agentBinary
        self.stateDirectory = stateDirectory
        self.logger = logger
    }

    public func isRunning(jobID: String) -> Bool { children.withLock { $0[jobID] != nil } }

    public var count: Int { children.withLock { $0.count } }

    /// The arguments of a child run.
    public static func arguments(
        jobID: String, trigger: RunTrigger, runID: String?, slot: Date?, stateDirectory: String, copy: CopyPlan? = nil
    ) -> [String] {
        var arguments = ["run", jobID, "--trigger", trigger.rawValue, "--state-dir", stateDirectory]
        if let runID { arguments += ["--run-id", runID] }
        if let copy { arguments += ["--copy-from", copy.from, "--copy-to", copy.to] }
        if let slot { arguments += ["--slot", HubJSON.format(slot)] }
        return arguments
    }

    /// Starts a run of `jobID` unless one of this daemon's children already runs it.
    @discardableResult
    public func start(jobID: String, trigger: RunTrigger, runID: String?, slot: Date?, besideWaiting: Bool = false, copy: CopyPlan? = nil) throws
        -> Bool
    {
        // A person's run now beside a run that waits for its window gets a key of its own.
        let key = besideWaiting ? "now:" + jobID : jobID
        guard !isRunning(jobID: key) else { return false }
        let pid = try spawn(
            key: key, Self.arguments(jobID: jobID, trigger: trigger, runID: runID, slot: slot, stateDirectory: stateDirectory, copy: copy))
        var metadata: Logger.Metadata = ["job.id": "\(jobID)", "trigger": "\(trigger.rawValue)", "pid": "\(pid)"]
        if let runID { metadata["run.id"] = "\(runID)" }
        logger.info("run started", metadata: metadata)
        return true
    }

    /// Starts `mzpanel-agent restore-run RUN` for an order saved in the state directory.
    public func startRestore(runID: String) throws {
        let key = "restore:" + runID
        guard !isRunning(jobID: key) else { return }
        let pid = try spawn(key: key, ["restore-run", runID, "--state-dir", stateDirectory])
        logger.info("restore run started", metadata: ["run.id": "\(runID)", "pid": "\(pid)"])
    }

    private func spawn(key: String, _ arguments: [String]) throws -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: agentBinary)
        process.arguments = arguments
        process.terminationHandler = { [weak self] ended in
            self?.ended(key: key, status: ended.terminationStatus)
        }
        // Registered before it starts, so a child that ends at once is still removed by its handler.
        children.withLock { $0[key] = process }
        do {
            try process.run()
        } catch {
            children.withLock { $0[key] = nil }
            throw AgentError("cannot start \(agentBinary) \(arguments.first ?? "") (\(error)); check that the agent binary still exists at that path")
        }
        return process.processIdentifier
    }

    private func ended(key: String, status: Int32) {
        children.withLock { $0[key] = nil }
        logger.info("run process ended", metadata: ["run.key": "\(key)", "exit.status": "\(status)"])
    }

    /// Asks every child run to stop (SIGTERM); their runs end as cancelled.
    public func terminateAll() {
        signalAll(SIGTERM)
    }

    /// Kills every child run that is left (SIGKILL); the daemon then reports their runs as interrupted.
    func killAll() {
        signalAll(SIGKILL)
    }

    private func signalAll(_ signal: Int32) {
        let pids = children.withLock { children in children.values.filter(\.isRunning).map(\.processIdentifier) }
        for pid in pids { kill(pid, signal) }
    }

    /// Waits until no child runs, at most `bound`; true when none is left.
    func waitUntilIdle(within bound: Duration) async -> Bool {
        let clock = ContinuousClock()
        let deadline = clock.now + bound
        while count > 0 {
            guard clock.now < deadline, !Task.isCancelled else { return count == 0 }
            try? await Task.sleep(for: .milliseconds(100))
        }
        return true
    }
}
