import Foundation
import Testing

/// Agent upgrades from the hub with real processes: an agent installed as a copy of the built
/// binary, a hub serving builds from a directory, and `mzpanel servers upgrade`.
@Suite("agent upgrades from the hub", .serialized, .enabled(if: Fleet.available, "mzpanel, mzpanel-agent or restic is missing"))
struct UpgradeEndToEndTests {
    /// An agent installed in a directory of its own (the upgrade replaces the binary there), enrolled, its daemon running.
    struct Installed {
        let binary: URL
        let stateDir: URL
        let serverID: String
    }

    func install(_ fleet: Fleet, name: String, environment: [String: String] = [:]) async throws -> Installed {
        let bin = fleet.directory.appendingPathComponent("bin-\(name)")
        try FileManager.default.createDirectory(at: bin, withIntermediateDirectories: true)
        let binary = bin.appendingPathComponent("mzpanel-agent")
        try FileManager.default.copyItem(at: fleet.agentBinary, to: binary)
        let added = try await fleet.cli.run(["servers", "add", name, "--json"])
        let serverID = try #require((added.object["server"] as? [String: Any])?["id"] as? String)
        let token = try #require((added.object["enrollment"] as? [String: Any])?["secret"] as? String)
        let stateDir = fleet.directory.appendingPathComponent("agent-\(name)")
        var agentEnvironment = fleet.cli.environment
        agentEnvironment.merge(environment) { _, new in new }
        let runner = CommandRunner(binary: binary, environment: agentEnvironment)
        let enrolled = try await runner.run(
            ["enroll", "--url", fleet.url, "--token-file", "-", "--state-dir", stateDir.path, "--no-systemd"], stdin: token + "\n")
        #expect(enrolled.status == 0, "\(enrolled.stdout)\(enrolled.stderr)")
        _ = try runner.start(
            ["daemon", "--state-dir", stateDir.path, "--no-systemd"], log: fleet.directory.appendingPathComponent("daemon-\(name).log"))
        return Installed(binary: binary, stateDir: stateDir, serverID: serverID)
    }

    /// Puts a build where the hub serves it, as scripts/build-agent does (binary, then its .sha256).
    func serve(_ data: Data, in directory: URL) throws -> String {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let target = directory.appendingPathComponent("mzpanel-agent-linux-amd64")
        let staging = directory.appendingPathComponent(".staging")
        try data.write(to: staging)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: staging.path)
        _ = rename(staging.path, target.path)
        let sha256 = try Self.sha256(target.path)
        try "\(sha256)  mzpanel-agent-linux-amd64\n".write(
            to: directory.appendingPathComponent("mzpanel-agent-linux-amd64.sha256"), atomically: true, encoding: .utf8)
        return sha256
    }

    static func sha256(_ path: String) throws -> String {
        let result = try CommandRunner(binary: URL(fileURLWithPath: "/usr/bin/sha256sum"), environment: [:]).runBlocking([path])
        return String(result.stdout.prefix(64))
    }

    func serverView(_ fleet: Fleet, _ name: String) async throws -> [String: Any] {
        let list = try await fleet.cli.run(["servers", "list", "--json"])
        return ((list.object["servers"] as? [[String: Any]]) ?? []).first { $0["name"] as? String == name } ?? [:]
    }

    /// Stops the daemons the upgrade started (they are not children of the test).
    func stopDaemons(stateDir: URL) {
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
            guard let pid = Int32(entry), pid != getpid(),
                let command = try? String(contentsOfFile: "/proc/\(entry)/cmdline", encoding: .utf8),
                command.contains(stateDir.path)
            else { continue }
            kill(pid, SIGKILL)
        }
    }

    @Test("a newer build on the hub: the agent shows as outdated, upgrades, restarts and reports the new version")
    func upgradeToNewerBuild() async throws {
        let builds = FileManager.default.temporaryDirectory.appendingPathComponent("mzpanel-builds-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: builds) }
        let fleet = try await Fleet(hubArguments: ["--agent-dir", builds.path])
        defer { fleet.shutdown() }
        let original = try Data(contentsOf: fleet.agentBinary)
        let current = try serve(original, in: builds)
        let agent = try await install(fleet, name: "web-1")
        defer { stopDaemons(stateDir: agent.stateDir) }

        let reported = try await fleet.eventually(30) {
            try await serverView(fleet, "web-1")["agentVersion"] as? String == "0.1.0+\(current.prefix(12))"
        }
        let view = try await serverView(fleet, "web-1")
        #expect(reported, "the agent reports its build: \(view)")
        #expect(try await serverView(fleet, "web-1")["agentOutdated"] as? Bool == false)

        // A newer build: the same program with different bytes, so a different build id.
        let newer = try serve(original + Data("\nnewer build \(UUID())\n".utf8), in: builds)
        #expect(try await serverView(fleet, "web-1")["agentOutdated"] as? Bool == true)
        let listed = try await fleet.cli.run(["servers", "list"])
        #expect(listed.stdout.contains("0.1.0+\(current.prefix(12)) (outdated)"), "\(listed.stdout)")

        let upgrade = try await fleet.cli.run(["servers", "upgrade", "web-1"])
        #expect(upgrade.status == 0, "\(upgrade.stdout)\(upgrade.stderr)")
        #expect(upgrade.stdout.contains("build \(newer.prefix(12))"), "\(upgrade.stdout)")
        let upgraded = try await fleet.eventually(60) {
            try await serverView(fleet, "web-1")["agentVersion"] as? String == "0.1.0+\(newer.prefix(12))"
        }
        let log = (try? String(contentsOf: fleet.directory.appendingPathComponent("daemon-web-1.log"), encoding: .utf8)) ?? ""
        let after = try await serverView(fleet, "web-1")
        #expect(upgraded, "the hub never saw the new version: \(after); daemon log: \(log.suffix(3000))")
        #expect(try Self.sha256(agent.binary.path) == newer, "the installed binary is the new build")
        #expect(try await serverView(fleet, "web-1")["agentOutdated"] as? Bool == false)
        let confirmed = try await fleet.eventually(10) {
            !FileManager.default.fileExists(atPath: agent.stateDir.appendingPathComponent("upgrade.json").path)
                && !FileManager.default.fileExists(atPath: agent.binary.path + ".previous")
        }
        #expect(confirmed, "the new agent confirmed the upgrade and removed the previous binary")
        let again = try await fleet.cli.run(["servers", "upgrade", "--all"])
        #expect(again.stdout.contains("No outdated agents"), "\(again.stdout)\(again.stderr)")
    }

    @Test("an upgrade waits until the run in progress has finished")
    func waitsForRunInProgress() async throws {
        let builds = FileManager.default.temporaryDirectory.appendingPathComponent("mzpanel-builds-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: builds) }
        let fleet = try await Fleet(hubArguments: ["--agent-dir", builds.path])
        defer { fleet.shutdown() }
        let original = try Data(contentsOf: fleet.agentBinary)
        let current = try serve(original, in: builds)
        let agent = try await install(fleet, name: "web-1")
        defer { stopDaemons(stateDir: agent.stateDir) }
        #expect(try await fleet.eventually(30) { try await serverView(fleet, "web-1")["agentOutdated"] as? Bool == false })

        // A run in progress, registered the way `mzpanel-agent run` registers itself: its entry in
        // running/ names a process that is alive.
        let runProcess = Process()
        runProcess.executableURL = URL(fileURLWithPath: "/bin/sleep")
        runProcess.arguments = ["600"]
        // Not on the test's own output: a sleep left behind would hold `swift test`'s pipe open until it ends.
        runProcess.standardOutput = FileHandle.nullDevice
        runProcess.standardError = FileHandle.nullDevice
        try runProcess.run()
        // SIGKILL: a test process may pass SIGTERM on ignored (the in-process hubs take it for graceful shutdown).
        defer { if runProcess.isRunning { kill(runProcess.processIdentifier, SIGKILL) } }
        let running = agent.stateDir.appendingPathComponent("running")
        try FileManager.default.createDirectory(at: running, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let now = "2026-12-04T12:00:00.000Z"
        let entry = """
            {"runID":"run_upgradewaits00000001","jobID":"job_upgradewaits00000001","pid":\(runProcess.processIdentifier),"startedAt":"\(now)",
             "run":{"id":"run_upgradewaits00000001","accountID":"acc_x","serverID":"\(agent.serverID)","jobID":"job_upgradewaits00000001",
                    "trigger":"manual","status":"running","createdAt":"\(now)","startedAt":"\(now)","bytesAdded":0,"bytesProcessed":0,
                    "filesNew":0,"results":[]}}
            """
        let entryFile = running.appendingPathComponent("run_upgradewaits00000001.json")
        try Data(entry.utf8).write(to: entryFile)

        let newer = try serve(original + Data("\nnewer build \(UUID())\n".utf8), in: builds)
        let upgrade = try await fleet.cli.run(["servers", "upgrade", "web-1"])
        #expect(upgrade.status == 0, "\(upgrade.stdout)\(upgrade.stderr)")
        let log = fleet.directory.appendingPathComponent("daemon-web-1.log")
        let waiting = try await fleet.eventually(30) {
            ((try? String(contentsOf: log, encoding: .utf8)) ?? "").contains("upgrade waits for the runs in progress to finish")
        }
        #expect(waiting, "the daemon said it waits for the run")
        try await Task.sleep(for: .seconds(3))
        #expect(try Self.sha256(agent.binary.path) == current, "the binary is not swapped while the run is in progress")

        // The run ends (it unregisters itself, then its process exits): the upgrade goes ahead.
        try FileManager.default.removeItem(at: entryFile)
        kill(runProcess.processIdentifier, SIGKILL)
        let upgraded = try await fleet.eventually(60) {
            try await serverView(fleet, "web-1")["agentVersion"] as? String == "0.1.0+\(newer.prefix(12))"
        }
        #expect(upgraded, "the upgrade happened once the run had finished")
    }

    @Test("a build that cannot reach the hub is rolled back to the previous binary")
    func rollback() async throws {
        let builds = FileManager.default.temporaryDirectory.appendingPathComponent("mzpanel-builds-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: builds) }
        let fleet = try await Fleet(hubArguments: ["--agent-dir", builds.path])
        defer { fleet.shutdown() }
        let original = try Data(contentsOf: fleet.agentBinary)
        let current = try serve(original, in: builds)
        let agent = try await install(fleet, name: "web-1", environment: ["MZPANEL_AGENT_UPGRADE_GRACE": "5"])
        defer { stopDaemons(stateDir: agent.stateDir) }
        #expect(try await fleet.eventually(30) { try await serverView(fleet, "web-1")["agentOutdated"] as? Bool == false })

        // Answers --version with its own build id, as a real build does, but its daemon never starts.
        let broken = "#!/bin/sh\nif [ \"$1\" = --version ]; then echo \"mzpanel-agent 0.1.0+$(sha256sum \"$0\" | cut -c1-12)\"; exit 0; fi\nexit 3\n"
        _ = try serve(Data(broken.utf8), in: builds)
        let upgrade = try await fleet.cli.run(["servers", "upgrade", "web-1"])
        #expect(upgrade.status == 0, "\(upgrade.stdout)\(upgrade.stderr)")
        let swapped = try await fleet.eventually(30) { try Self.sha256(agent.binary.path) != current }
        #expect(swapped, "the broken build was installed")
        let restored = try await fleet.eventually(60) { try Self.sha256(agent.binary.path) == current }
        #expect(restored, "the previous binary is back")
        let seen = try await serverView(fleet, "web-1")["lastSeenAt"] as? String
        let back = try await fleet.eventually(30) { try await serverView(fleet, "web-1")["lastSeenAt"] as? String != seen }
        #expect(back, "the previous agent runs again and calls the hub")
        #expect(try await serverView(fleet, "web-1")["agentVersion"] as? String == "0.1.0+\(current.prefix(12))")
    }
}
