import BackupCore
import Foundation

/// The box-side schedule: per enabled job a `mzpanel-job-<id>.timer` (OnCalendar from the job,
/// Persistent=true, RandomizedDelaySec) and a `.service` (Type=oneshot, `mzpanel-agent run <id>
/// --trigger timer`, low CPU and I/O priority). The run claims its slot, so the timer and the hub
/// triggering the same slot give one run.
public struct TimerUnits: Sendable {
    public static let prefix = "mzpanel-job-"

    public var directory: String
    /// Absolute path of the `mzpanel-agent` binary the service runs.
    public var agentBinary: String
    public var stateDirectory: String
    public var randomizedDelaySeconds: Int

    public init(directory: String, agentBinary: String, stateDirectory: String, randomizedDelaySeconds: Int = 60) {
        self.directory = directory
        self.agentBinary = agentBinary
        self.stateDirectory = stateDirectory
        self.randomizedDelaySeconds = randomizedDelaySeconds
    }

    public static func timerName(jobID: String) -> String { prefix + jobID + ".timer" }
    public static func serviceName(jobID: String) -> String { prefix + jobID + ".service" }

    public func timerContent(for job: Job) -> String {
        // The timer fires at the slot; the run then waits on the box for its start (window and
        // spread, `StartPlan`), so the box, the hub's scheduler and the previews agree.
        let plan = job.startPlan.summary.map { "# Runs start later than the slot: \(Self.escapeText($0)).\n" } ?? ""
        return """
            # Written by mzpanel-agent; rewritten whenever the job changes. Do not edit.
            \(plan)[Unit]
            Description=Schedule of MZPanel backup job \(Self.escapeText(job.name)) (\(job.id))

            [Timer]
            OnCalendar=\(job.schedule.onCalendarLine)
            Persistent=true
            RandomizedDelaySec=\(max(0, randomizedDelaySeconds))
            AccuracySec=1s
            Unit=\(Self.serviceName(jobID: job.id))

            [Install]
            WantedBy=timers.target

            """
    }

    /// The service runs as root (it must read every backed-up path and reach database sockets), at
    /// low priority, with hardening that keeps reads everywhere possible: no PrivateTmp (database
    /// sockets often live in /tmp) and no ProtectHome (home directories are backed up); the system
    /// directories it never writes are read-only.
    public func serviceContent(for job: Job) -> String {
        let command = [agentBinary, "run", job.id, "--trigger", "timer", "--state-dir", stateDirectory]
            .map(Self.quoteArgument).joined(separator: " ")
        return """
            # Written by mzpanel-agent; rewritten whenever the job changes. Do not edit.
            [Unit]
            Description=MZPanel backup job \(Self.escapeText(job.name)) (\(job.id))
            After=network-online.target
            Wants=network-online.target

            [Service]
            Type=oneshot
            ExecStart=\(command)
            Nice=10
            IOSchedulingClass=idle
            CPUSchedulingPolicy=batch
            TimeoutStartSec=infinity
            UMask=0077
            NoNewPrivileges=yes
            ProtectSystem=full
            ProtectKernelTunables=yes
            ProtectKernelModules=yes
            ProtectKernelLogs=yes
            ProtectControlGroups=yes
            ProtectClock=yes
            ProtectHostname=yes
            RestrictRealtime=yes
            RestrictSUIDSGID=yes
            LockPersonality=yes
            SystemCallArchitectures=native

            """
    }

    /// What `install` changed.
    public struct Changes: Sendable, Equatable {
        public var written: [String] = []
        public var removed: [String] = []
        /// Timers of enabled jobs (to enable and start).
        public var timers: [String] = []
        public var isEmpty: Bool { written.isEmpty && removed.isEmpty }
    }

    /// Writes units of enabled jobs (only when their content changed) and removes `mzpanel-job-*`
    /// units of jobs that are gone or disabled. Other files in the directory are never touched.
    public func install(jobs: [Job]) throws -> Changes {
        try SecureFile.makeDirectory(directory, mode: 0o755)
        var changes = Changes()
        var wanted = Set<String>()
        for job in jobs where job.enabled {
            guard SafeName.isSafe(job.id) else { continue }
            let units = [(Self.timerName(jobID: job.id), timerContent(for: job)), (Self.serviceName(jobID: job.id), serviceContent(for: job))]
            for (name, content) in units {
                wanted.insert(name)
                let path = directory + "/" + name
                if let existing = try? SecureFile.read(path), existing == Data(content.utf8) { continue }
                try SecureFile.write(Data(content.utf8), to: path, mode: 0o644)
                changes.written.append(name)
            }
            changes.timers.append(Self.timerName(jobID: job.id))
        }
        for name in SecureFile.list(directory).sorted()
        where name.hasPrefix(Self.prefix) && (name.hasSuffix(".timer") || name.hasSuffix(".service")) && !wanted.contains(name) {
            changes.removed.append(name)
        }
        return changes
    }

    /// Deletes the unit files listed in `changes.removed` (after their timers were stopped).
    public func deleteRemoved(_ changes: Changes) {
        for name in changes.removed { SecureFile.remove(directory + "/" + name) }
    }

    // MARK: Escaping

    /// Free text in a unit (Description): one line, `%` escaped (systemd expands specifiers).
    static func escapeText(_ text: String) -> String {
        text.map { $0.isNewline || $0 == "\0" ? " " : String($0) }.joined().replacingOccurrences(of: "%", with: "%%")
    }

    /// One ExecStart argument: `%` → `%%`, `$` → `$$`, quoted when it has spaces or quotes.
    static func quoteArgument(_ argument: String) -> String {
        var text = argument.replacingOccurrences(of: "%", with: "%%").replacingOccurrences(of: "$", with: "$$")
        if text.contains(where: { $0 == " " || $0 == "\t" || $0 == "\"" || $0 == "'" || $0 == "\\" || $0 == ";" }) || text.isEmpty {
            text = "\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
        }
        return text
    }
}
