import BackupCore
import Foundation
import HubAPI
import LinkProtocol

/// What `mzpanel-agent status` shows: identity, jobs with their next run, outbox depth, runs in
/// progress and the last finished runs.
public struct StatusReport: Codable, Sendable {
    public struct JobLine: Codable, Sendable {
        public var id: String
        public var name: String
        public var kind: JobKind
        public var enabled: Bool
        public var schedule: String
        public var nextRun: Date?
        public var destinations: [String]
    }

    public struct RunningLine: Codable, Sendable {
        public var runID: String
        public var jobID: String
        public var pid: Int32
        public var startedAt: Date
        public var alive: Bool
    }

    public var enrolled: Bool
    public var stateDirectory: String
    public var identity: AgentIdentity?
    public var keyFingerprint: String?
    public var agentVersion: String
    public var systemdDirectory: String?
    public var systemdRunning: Bool
    public var jobsFetched: Bool
    public var jobs: [JobLine]
    public var outboxDepth: Int
    public var running: [RunningLine]
    public var lastRuns: [Run]

    public static func collect(state: AgentState, now: Date = Date()) -> StatusReport {
        let identity = try? state.loadIdentity()
        let jobSet = try? state.loadJobs()
        let jobs = (jobSet?.jobs ?? []).map { agentJob -> JobLine in
            let job = agentJob.job
            return JobLine(
                id: job.id, name: job.name, kind: job.kind, enabled: job.enabled, schedule: job.schedule.onCalendarLine,
                nextRun: job.enabled ? job.nextStart(after: now) : nil,
                destinations: agentJob.destinations.map { "\($0.name) (\($0.kind.rawValue))" })
        }
        let running = state.running.entries().map {
            RunningLine(
                runID: $0.runID, jobID: $0.jobID, pid: $0.pid, startedAt: $0.startedAt,
                alive: ProcessLiveness.isAlive(pid: $0.pid, startTicks: $0.processStartTicks))
        }
        return StatusReport(
            enrolled: state.isEnrolled, stateDirectory: state.directory, identity: identity,
            keyFingerprint: (try? ServerKey.load(from: state.serverKeyFile))?.fingerprint, agentVersion: AgentVersion.current,
            systemdDirectory: FileManager.default.fileExists(atPath: state.settingsFile) ? (try? state.loadSettings())?.systemdDirectory : nil,
            systemdRunning: Systemd.isRunning,
            jobsFetched: jobSet != nil, jobs: jobs, outboxDepth: state.outbox.depth, running: running,
            lastRuns: state.history.load())
    }

    /// The report as text for a terminal.
    public var text: String {
        var lines: [String] = []
        if let identity {
            lines.append("Server:       \(identity.serverName) (\(identity.serverID))")
            lines.append("Hub:          \(identity.hubURL)")
        } else {
            lines.append("Not enrolled: run `mzpanel-agent enroll --url HUB_URL --token TOKEN`")
        }
        lines.append("State:        \(stateDirectory)")
        lines.append("Key:          \(keyFingerprint ?? "-")")
        lines.append("Agent:        \(agentVersion)")
        lines.append(
            "Timers:       "
                + (systemdDirectory.map { "\($0)" + (systemdRunning ? " (systemd)" : " (systemd not running: the daemon fires slots)") }
                    ?? "none (the daemon fires slots)"))
        lines.append("Outbox:       \(outboxDepth) event\(outboxDepth == 1 ? "" : "s") waiting for the hub")
        lines.append("")
        if !jobsFetched {
            lines.append("Jobs: not fetched yet (start `mzpanel-agent daemon`)")
        } else {
            lines.append("Jobs (\(jobs.count)):")
            for job in jobs {
                let next = job.nextRun.map(HubJSON.format) ?? (job.enabled ? "never" : "disabled")
                lines.append("  \(job.name)  \(job.id)  \(job.kind.rawValue)  \(job.schedule)  next: \(next)")
            }
        }
        if !running.isEmpty {
            lines.append("")
            lines.append("Running:")
            for run in running {
                lines.append(
                    "  \(run.runID)  job \(run.jobID)  since \(HubJSON.format(run.startedAt))  pid \(run.pid)\(run.alive ? "" : " (gone: will be reported as interrupted)")"
                )
            }
        }
        lines.append("")
        lines.append("Last runs:" + (lastRuns.isEmpty ? " none" : ""))
        for run in lastRuns {
            let failures = run.results.compactMap { $0.error.map { e in "    \(e)" } }
            lines.append(
                "  \(run.id)  job \(run.jobID)  \(run.status.rawValue)  \(run.finishedAt.map(HubJSON.format) ?? "-")  \(run.trigger.rawValue)")
            lines.append(contentsOf: failures)
        }
        return lines.joined(separator: "\n")
    }
}
