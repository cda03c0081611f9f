import BackupCore
import Foundation
import LinkProtocol

/// Runs started by the daemon, each as a child process `mzpanel-agent run …` (so a crash of one
/// run never takes the daemon down, and the run's own slot claim and outbox logic apply).
public actor ChildRuns {
    private var children: [String: Process] = [:]
    private let agentBinary: String
    private let stateDirectory: String

    public init(agentBinary: String, stateDirectory: String) {
        self.agentBinary = agentBinary
        self.stateDirectory = stateDirectory
    }

    public func isRunning(jobID: String) -> Bool { children[jobID] != nil }

    public var count: Int { children.count }

    /// The arguments of a child run.
    public static func arguments(jobID: String, trigger: RunTrigger, runID: String?, slot: Date?, stateDirectory: String) -> [String] {
        var arguments = ["run", jobID, "--trigger", trigger.rawValue, "--state-dir", stateDirectory]
        if let runID { arguments += ["--run-id", runID] }
        if let slot { arguments += ["--slot", HubJSON.format(slot)] }
        return arguments
    }

    /// Starts a run of `jobID` unless one of this daemon's children already runs it.
    @discardableResult
    public func start(jobID: String, trigger: RunTrigger, runID: String?, slot: Date?) throws -> Bool {
        guard children[jobID] == nil else { return false }
        let process = try spawn(key: jobID, Self.arguments(jobID: jobID, trigger: trigger, runID: runID, slot: slot, stateDirectory: stateDirectory))
        AgentLog.write("started run of job \(jobID) (trigger \(trigger.rawValue)\(runID.map { ", run \($0)" } ?? ""), pid \(process.processIdentifier))")
        return true
    }

    /// Starts `mzpanel-agent restore-run RUN` for an order saved in the state directory.
    public func startRestore(runID: String) throws {
        let key = "restore:" + runID
        guard children[key] == nil else { return }
        let process = try spawn(key: key, ["restore-run", runID, "--state-dir", stateDirectory])
        AgentLog.write("started restore run \(runID), pid \(process.processIdentifier)")
    }

    private func spawn(key: String, _ arguments: [String]) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: agentBinary)
        process.arguments = arguments
        process.terminationHandler = { [weak self] ended in
            let status = ended.terminationStatus
            Task { await self?.ended(jobID: key, status: status) }
        }
        do {
            try process.run()
        } catch {
            throw AgentError("cannot start \(agentBinary) \(arguments.first ?? "") (\(error)); check that the agent binary still exists at that path")
        }
        children[key] = process
        return process
    }

    private func ended(jobID: String, status: Int32) {
        children[jobID] = nil
        AgentLog.write("run of job \(jobID) ended with exit status \(status)")
    }

    /// Asks every child run to stop (SIGTERM); their runs end as cancelled.
    public func terminateAll() {
        for process in children.values where process.isRunning { process.terminate() }
    }
}
