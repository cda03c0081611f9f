import Foundation
import LinkProtocol
import Logging

/// Replacing the agent's binary with the hub's build, as the hub asks (`upgradeAgent`).
///
/// The daemon waits until no run is in progress, downloads the build, checks its SHA-256 and that
/// it answers `--version` with that build id, keeps the running binary as `<binary>.previous`,
/// renames the new one over `<binary>` (atomic), writes `upgrade.json` in the state directory and
/// starts a guard (`mzpanel-agent upgrade-guard`, run from the previous binary, outside the
/// daemon's service). Then it stops gracefully; systemd (`Restart=always`) or, without systemd,
/// the guard starts the new binary. The new daemon removes `upgrade.json` once it has reached the
/// hub. If that has not happened within the grace (a minute), the guard puts the previous binary
/// back and restarts the daemon.
public struct AgentUpgrade: Sendable {
    /// What the daemon leaves for the new binary and the guard.
    public struct Pending: Codable, Sendable, Equatable {
        public var binary: String
        public var previous: String
        public var fromVersion: String
        public var toSHA256: String
        public var deadline: Date
    }

    public let state: AgentState
    public let binary: String
    public let logger: Logger

    public init(state: AgentState, binary: String, logger: Logger) {
        self.state = state
        self.binary = binary
        self.logger = logger
    }

    public var pendingFile: String { state.directory + "/upgrade.json" }

    /// `amd64` or `arm64`: the build this machine runs.
    public static var architecture: String? {
        #if arch(x86_64)
            return "amd64"
        #elseif arch(arm64)
            return "arm64"
        #else
            return nil
        #endif
    }

    /// Downloads, verifies and swaps in the build; answers what the guard and the new binary need.
    public func install(_ order: UpgradeOrder, link: HubLink, grace: TimeInterval) async throws -> Pending {
        guard let architecture = Self.architecture, let expected = order.builds[architecture]?.lowercased() else {
            throw AgentError("the hub has no agent build for this machine's architecture")
        }
        if let current = AgentVersion.buildSHA256, current == expected {
            throw AgentError("this agent already runs the hub's build \(expected.prefix(12))")
        }
        let directory = (binary as NSString).deletingLastPathComponent
        let staged = binary + ".new"
        try? FileManager.default.removeItem(atPath: staged)
        let data = try await link.agentBuild(architecture: architecture)
        guard FileManager.default.createFile(atPath: staged, contents: data, attributes: [.posixPermissions: 0o755]) else {
            throw AgentError("cannot write \(staged); is \(directory) writable by the agent?")
        }
        let got = try AgentVersion.sha256(ofFile: staged)
        guard got == expected else {
            try? FileManager.default.removeItem(atPath: staged)
            throw AgentError("the downloaded build's SHA-256 is \(got), not \(expected) as the hub said; the agent was not changed")
        }
        let answer = Self.output(of: staged, ["--version"])
        guard answer?.contains("+\(expected.prefix(12))") == true else {
            try? FileManager.default.removeItem(atPath: staged)
            throw AgentError("the downloaded build does not run here (\(answer ?? "no answer to --version")); the agent was not changed")
        }
        let previous = binary + ".previous"
        try? FileManager.default.removeItem(atPath: previous)
        try FileManager.default.copyItem(atPath: binary, toPath: previous)
        let pending = Pending(
            binary: binary, previous: previous, fromVersion: AgentVersion.current, toSHA256: expected, deadline: Date().addingTimeInterval(grace))
        try SecureFile.write(try JSONEncoder().encode(pending), to: pendingFile, mode: 0o600)
        guard rename(staged, binary) == 0 else {
            try? FileManager.default.removeItem(atPath: pendingFile)
            throw AgentError("cannot replace \(binary) (errno \(errno)); the agent was not changed")
        }
        logger.notice(
            "agent binary replaced; restarting", metadata: ["agent.from": "\(AgentVersion.current)", "agent.to": "\(expected.prefix(12))"])
        return pending
    }

    /// The pending upgrade, if one waits for its confirmation.
    public func pending() -> Pending? {
        guard let data = FileManager.default.contents(atPath: pendingFile) else { return nil }
        return try? JSONDecoder().decode(Pending.self, from: data)
    }

    /// Called by a daemon that has reached the hub: the upgrade that started it is complete.
    public func confirm() {
        guard let pending = pending() else { return }
        if AgentVersion.buildSHA256 == pending.toSHA256 {
            try? FileManager.default.removeItem(atPath: pending.previous)
            logger.notice("agent upgraded", metadata: ["agent.from": "\(pending.fromVersion)", "agent.version": "\(AgentVersion.current)"])
        }
        try? FileManager.default.removeItem(atPath: pendingFile)
    }

    /// The guard: starts the new daemon when there is no systemd, then waits for the confirmation
    /// and restores the previous binary when it does not come in time.
    public func guardUpgrade(daemonPID: pid_t, daemonArguments: [String], underSystemd: Bool, poll: TimeInterval = 1) async -> Bool {
        guard let pending = pending() else { return true }
        var started: pid_t = 0
        if !underSystemd {
            // Wait for the old daemon to finish its graceful stop, then start the new binary.
            while daemonPID > 0 && Self.isAlive(daemonPID) && Date() < pending.deadline { try? await Task.sleep(for: .milliseconds(200)) }
            started = Self.spawnDetached(pending.binary, daemonArguments)
            logger.notice("started the new agent daemon", metadata: ["pid": "\(started)"])
        }
        while Date() < pending.deadline {
            if self.pending() == nil { return true }
            try? await Task.sleep(for: .milliseconds(Int(poll * 1000)))
        }
        if self.pending() == nil { return true }
        logger.error(
            "the new agent did not reach the hub in time: restoring the previous binary", metadata: ["agent.version": "\(pending.fromVersion)"])
        if rename(pending.previous, pending.binary) != 0 {
            logger.error("cannot restore the previous binary", metadata: ["path": "\(pending.previous)", "errno": "\(errno)"])
        }
        try? FileManager.default.removeItem(atPath: pendingFile)
        if underSystemd {
            _ = Systemd.systemctl(["restart", "mzpanel-agent.service"])
        } else {
            if started > 0 {
                kill(started, SIGTERM)
                for _ in 0..<100 where Self.isAlive(started) { try? await Task.sleep(for: .milliseconds(200)) }
                kill(started, SIGKILL)
            }
            _ = Self.spawnDetached(pending.binary, daemonArguments)
        }
        return false
    }

    /// Starts the guard from the previous binary, outside the daemon's service when systemd runs it
    /// (a service restart stops every process of its cgroup).
    public func startGuard(_ pending: Pending, stateDirectory: String, daemonArguments: [String], underSystemd: Bool) throws {
        var arguments = ["upgrade-guard", "--state-dir", stateDirectory, "--daemon-pid", String(getpid())]
        if underSystemd { arguments.append("--systemd") }
        arguments += ["--"] + daemonArguments
        if underSystemd, let systemdRun = ProgramLocator.find("systemd-run") {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: systemdRun)
            process.arguments = ["--quiet", "--collect", "--unit", "mzpanel-agent-upgrade-\(getpid())", pending.previous] + arguments
            try process.run()
            process.waitUntilExit()
            guard process.terminationStatus == 0 else { throw AgentError("systemd-run could not start the upgrade guard") }
        } else {
            guard Self.spawnDetached(pending.previous, arguments) > 0 else { throw AgentError("cannot start the upgrade guard") }
        }
    }

    /// Whether a process runs (a zombie has exited; only its parent has not collected it yet).
    static func isAlive(_ pid: pid_t) -> Bool {
        guard kill(pid, 0) == 0 else { return false }
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), let close = stat.lastIndex(of: ")") else { return true }
        return !stat[close...].hasPrefix(") Z")
    }

    /// Starts a program in its own session, with the caller's standard output and error (the daemon's log).
    @discardableResult
    static func spawnDetached(_ program: String, _ arguments: [String]) -> pid_t {
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // POSIX_SPAWN_SETSID (glibc 2.26+), which Swift's Glibc module does not export.
        posix_spawnattr_setflags(&attributes, Int16(0x80))
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        // Only stdin, stdout and stderr reach it: no sockets or locks of the daemon that is stopping
        // (glibc ignores a descriptor that is gone meanwhile).
        for name in (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? [] {
            if let fd = Int32(name), fd > 2 { posix_spawn_file_actions_addclose(&actions, fd) }
        }
        let argv = ([program] + arguments).map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var pid: pid_t = 0
        let status = posix_spawn(&pid, program, &actions, &attributes, argv, environ)
        return status == 0 ? pid : 0
    }

    private static func output(of program: String, _ arguments: [String]) -> String? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: program)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        do { try process.run() } catch { return nil }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return process.terminationStatus == 0 ? String(decoding: data, as: UTF8.self) : nil
    }
}
