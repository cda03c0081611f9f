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
        return try trustWarnings(jobs) + writeTimers(jobs.jobs.map(\.job))
    }

    /// Pins the account key on first use, and says which jobs this box will refuse and why (each
    /// accepted manifest's version is remembered, so the hub cannot send back an older one later).
    func trustWarnings(_ jobs: AgentJobSet) throws -> [String] {
        let trust = ManifestTrust(state: state)
        var warnings: [String] = []
        // Trust on first use waits until every job of this box and its destinations are signed, so
        // an account that just made its vault keeps its backups running while it signs them.
        let unsigned = jobs.jobs.filter { $0.job.manifest == nil || $0.destinations.contains { $0.manifest == nil } }
        if trust.pinnedKey() == nil, jobs.accountKey != nil, !unsigned.isEmpty {
            warnings.append(
                "not pinning the account key yet: \(unsigned.map(\.job.name).joined(separator: ", ")) or its destinations are not signed (mzpanel jobs sign --all, mzpanel destinations sign --all)"
            )
        } else if let pinned = try trust.pinFirst(jobs.accountKey) {
            warnings.append("pinned the account key \(pinned) the hub sent (trust on first use); from now on only jobs signed with it run")
        }
        guard trust.pinnedKey() != nil, let identity = try? state.loadIdentity() else { return warnings }
        for job in jobs.jobs where job.job.enabled {
            if let reason = trust.refusal(for: job, identity: identity) { warnings.append("job \(job.job.name) will be refused: \(reason)") }
        }
        return warnings
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
