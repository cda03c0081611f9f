import BackupCore
import Foundation
import LinkProtocol

/// Stores a job set from the hub and brings the box's timers in line with it.
public struct JobSync: Sendable {
    public var state: AgentState
    public var settings: AgentSettings
    public var agentBinary: String

    public init(state: AgentState, settings: AgentSettings, agentBinary: String = ProgramLocator.currentExecutable()) {
        self.state = state
        self.settings = settings
        self.agentBinary = agentBinary
    }

    public var timerUnits: TimerUnits? {
        settings.systemdDirectory.map {
            TimerUnits(
                directory: $0, agentBinary: agentBinary, stateDirectory: state.directory,
                randomizedDelaySeconds: settings.randomizedDelaySeconds)
        }
    }

    /// Saves `jobs` (when changed) and rewrites the timer units. Returns warnings to show or log.
    @discardableResult
    public func apply(_ jobs: AgentJobSet) throws -> [String] {
        if (try? state.loadJobs()) != jobs { try state.saveJobs(jobs) }
        return try writeTimers(jobs.jobs.map(\.job))
    }

    /// Writes the timers of `jobs` (no-op without a systemd directory).
    public func writeTimers(_ jobs: [Job]) throws -> [String] {
        guard let units = timerUnits else { return [] }
        let changes = try units.install(jobs: jobs)
        return Systemd.apply(changes, units: units)
    }

    /// Fetches the jobs from the hub and applies them.
    @discardableResult
    public func sync(link: HubLink) async throws -> [String] {
        let jobs = try await link.jobs()
        return try apply(jobs)
    }
}
