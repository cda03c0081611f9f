import BackupCore
import Foundation
import HubAPI
import LinkProtocol
import Testing

@testable import Agent

enum AgentBinary {
    /// The built `mzpanel-agent`, next to the test bundle.
    static let path: String? = {
        let directory = (ProgramLocator.currentExecutable() as NSString).deletingLastPathComponent
        let candidate = directory + "/mzpanel-agent"
        return FileManager.default.isExecutableFile(atPath: candidate) ? candidate : nil
    }()
    static var usable: Bool { (path != nil && ResticPresence.path != nil) || Fixtures.isCI }
}

/// The real `mzpanel-agent` binary against the fake hub: enroll, run, status, daemon, kill -9.
@Suite(
    "mzpanel-agent commands", .serialized,
    .enabled(if: AgentBinary.usable, "build the mzpanel-agent product first (swift build --build-tests builds it) and install restic"))
struct AgentCLITests {
    struct Box {
        let root: String
        let hub: FakeHub
        let jobID: String
        let destination: Destination
        var stateFlag: [String] { ["--state-dir", root + "/state"] }
        var state: AgentState { AgentState(directory: root + "/state") }

        func agent(_ arguments: [String]) throws -> (status: Int32, output: String) {
            try runProgram(try #require(AgentBinary.path), arguments, environment: ["PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": root])
        }
    }

    static func withBox(files: Int = 20, bigFileMiB: Int = 0, commands: [AgentCommand] = [], _ body: (Box) async throws -> Void) async throws {
        try await withTemporaryDirectory { root in
            try Fixtures.makeTree(at: root + "/site", files: files)
            if bigFileMiB > 0 {
                let random = try #require(FileHandle(forReadingAtPath: "/dev/urandom"))
                _ = FileManager.default.createFile(atPath: root + "/site/big.bin", contents: nil)
                let out = try #require(FileHandle(forWritingAtPath: root + "/site/big.bin"))
                for _ in 0..<bigFileMiB { out.write(random.readData(ofLength: 1 << 20)) }
                try out.close()
            }
            let jobID = "job_clitestjob000000001"
            let destination = Fixtures.localDestination(id: "dst_clitestdest00000001", path: root + "/backups")
            let job = try Fixtures.job(id: jobID, paths: [root + "/site"], retention: .init(keepLast: 2), destinationIDs: [destination.id])
            let hub = try FakeHub.start(
                in: root, token: "enr_cli", enrollResponse: HubLinkTests.response,
                jobs: AgentJobSet(serverID: Fixtures.serverID, jobs: [AgentJob(job: job, destinations: [destination], envelopes: [])]),
                commands: commands)
            defer { hub.stop() }
            try Data("enr_cli\n".utf8).write(to: URL(fileURLWithPath: root + "/token"))
            let box = Box(root: root, hub: hub, jobID: jobID, destination: destination)
            let enrolled = try box.agent(
                ["enroll", "--url", hub.url, "--token-file", root + "/token", "--systemd-dir", root + "/systemd"] + box.stateFlag)
            #expect(enrolled.status == 0, "enroll: \(enrolled.output)")
            try await body(box)
        }
    }

    @Test("enroll, run with the hub up, status --json, fingerprint; the token never reaches argv of children or files")
    func enrollRunStatus() async throws {
        try await Self.withBox { box in
            #expect(FileManager.default.fileExists(atPath: box.root + "/systemd/mzpanel-job-\(box.jobID).timer"))
            let service = try String(contentsOfFile: box.root + "/systemd/mzpanel-job-\(box.jobID).service", encoding: .utf8)
            #expect(service.contains("ExecStart=\(try #require(AgentBinary.path)) run \(box.jobID) --trigger timer --state-dir \(box.root)/state"))

            let run = try box.agent(["run", box.jobID] + box.stateFlag)
            #expect(run.status == 0, "run: \(run.output)")
            #expect(run.output.contains(": succeeded"))
            // The hub was up: the outbox is empty and the hub got started + finished with a snapshot.
            #expect(box.state.outbox.depth == 0)
            let events = box.hub.events()
            #expect(events.filter { $0.kind != .runProgress }.map(\.kind) == [.runStarted, .runFinished])
            #expect(events.last?.snapshot?.copies.first?.destinationID == box.destination.id)
            #expect(events.last?.run.status == .succeeded)

            let status = try box.agent(["status", "--json"] + box.stateFlag)
            #expect(status.status == 0)
            let report = try HubJSON.decoder().decode(StatusReport.self, from: Data(status.output.utf8))
            #expect(report.identity?.serverID == Fixtures.serverID)
            #expect(report.jobs.map(\.id) == [box.jobID])
            #expect(report.jobs.first?.nextRun != nil)
            #expect(report.outboxDepth == 0)
            #expect(report.lastRuns.count == 1)

            let fingerprint = try box.agent(["fingerprint"] + box.stateFlag)
            #expect(fingerprint.output.trimmingCharacters(in: .whitespacesAndNewlines) == report.keyFingerprint)

            let again = try box.agent(["enroll", "--url", box.hub.url, "--token", "enr_cli"] + box.stateFlag)
            #expect(again.status != 0)
            #expect(again.output.contains("--force"))

            let unknown = try box.agent(["run", "job_nope"] + box.stateFlag)
            #expect(unknown.status != 0)
            #expect(unknown.output.contains("is not one of this server's jobs"))

            for file in ["identity.json", "jobs.json", "history.json", "settings.json"] {
                let text = try String(contentsOfFile: box.root + "/state/" + file, encoding: .utf8)
                #expect(!text.contains("enr_cli"))
                #expect(!text.contains(HubLinkTests.response.credential))
            }
        }
    }

    @Test("the timer and the hub triggering one slot give one run")
    func slotDedupe() async throws {
        try await Self.withBox { box in
            let slot = "2026-01-01T02:30:00.000Z"
            let timer = try box.agent(["run", box.jobID, "--trigger", "timer", "--slot", slot] + box.stateFlag)
            #expect(timer.status == 0, "\(timer.output)")
            let hub = try box.agent(["run", box.jobID, "--trigger", "hub", "--run-id", "run_fromthehub000000001", "--slot", slot] + box.stateFlag)
            #expect(hub.status == 0)
            #expect(hub.output.contains("slot already ran"))
            // Events may be delivered twice (the hub ingests each id once): count runs, not deliveries.
            #expect(Set(box.hub.events().filter { $0.kind == .runFinished }.map(\.run.id)).count == 1)
        }
    }

    @Test("the daemon takes a run-now command, runs it as a child and delivers the result; SIGTERM stops it")
    func daemonRunNow() async throws {
        let command = AgentCommand(
            id: "cmd_runnow", kind: .runNow, jobID: "job_clitestjob000000001", runID: "run_daemonrun000000001",
            createdAt: Date())
        try await Self.withBox(commands: [command]) { box in
            let daemon = Process()
            daemon.executableURL = URL(fileURLWithPath: try #require(AgentBinary.path))
            daemon.arguments = ["daemon"] + box.stateFlag
            daemon.environment = ["PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": box.root]
            let log = Pipe()
            daemon.standardError = log
            daemon.standardOutput = log
            try daemon.run()
            var finished: AgentEvent?
            for _ in 0..<150 {
                finished = box.hub.events().first { $0.kind == .runFinished && $0.run.id == "run_daemonrun000000001" }
                if finished != nil { break }
                try await Task.sleep(for: .milliseconds(200))
            }
            #expect(finished?.run.status == .succeeded)
            #expect(finished?.run.trigger == .manual)
            // No systemd here: the daemon also fired the job's current slot itself, once, as a timer run.
            let slot = SlotClaims.currentSlot(for: try Schedule.parse("daily 02:30"), now: Date())
            var timerRuns: [AgentEvent] = []
            for _ in 0..<100 {
                timerRuns = box.hub.events().filter { $0.kind == .runFinished && $0.run.trigger == .timer }
                if !timerRuns.isEmpty { break }
                try await Task.sleep(for: .milliseconds(200))
            }
            #expect(Set(timerRuns.map(\.run.id)).count == 1)
            #expect(timerRuns.first?.run.slot == slot)
            #expect(box.hub.requests().contains { $0.path == "/api/agent/v1/commands/cmd_runnow/ack" })
            kill(daemon.processIdentifier, SIGTERM)
            for _ in 0..<50 where daemon.isRunning { try await Task.sleep(for: .milliseconds(100)) }
            #expect(!daemon.isRunning, "the daemon should stop on SIGTERM")
            if daemon.isRunning { kill(daemon.processIdentifier, SIGKILL) }
            daemon.waitUntilExit()
            // Exactly one run for the command, however often it was offered or its events delivered.
            let runs = box.hub.events().filter { $0.kind == .runFinished && $0.run.id == "run_daemonrun000000001" }
            #expect(Set(runs.map(\.id)).count == 1)
        }
    }

    @Test("kill -9 mid-backup: the run is reported interrupted, the next run succeeds, restic check is clean")
    func killNine() async throws {
        try await Self.withBox(files: 50, bigFileMiB: 300) { box in
            let run = Process()
            run.executableURL = URL(fileURLWithPath: try #require(AgentBinary.path))
            run.arguments = ["run", box.jobID] + box.stateFlag
            run.environment = ["PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": box.root]
            run.standardError = FileHandle.nullDevice
            run.standardOutput = FileHandle.nullDevice
            try run.run()
            // Wait until restic is at work (a process carrying the run's marker), then kill the agent.
            var runID: String?
            for _ in 0..<600 {
                runID = box.state.running.entries().first?.runID
                if let runID, !OrphanProcesses.find(runID: runID).isEmpty { break }
                try await Task.sleep(for: .milliseconds(50))
            }
            let killed = try #require(runID)
            kill(run.processIdentifier, SIGKILL)
            run.waitUntilExit()

            let next = try box.agent(["run", box.jobID] + box.stateFlag)
            #expect(next.status == 0, "\(next.output)")
            let finished = box.hub.events().filter { $0.kind == .runFinished }
            #expect(finished.first { $0.run.id == killed }?.run.status == .interrupted)
            #expect(finished.contains { $0.run.id != killed && $0.run.status == .succeeded })
            #expect(OrphanProcesses.find(runID: killed).isEmpty, "restic of the killed run was stopped")

            let password = try box.state.repositoryPasswordFile(destinationID: box.destination.id)
            let check = try runProgram(
                try #require(ResticPresence.path), ["-r", box.destination.settings.path! + "/" + Fixtures.serverID, "check"],
                environment: ["RESTIC_PASSWORD_FILE": password, "RESTIC_CACHE_DIR": box.root + "/cache", "PATH": "/usr/bin:/bin"])
            #expect(check.status == 0, "restic check: \(check.output)")
        }
    }
}
