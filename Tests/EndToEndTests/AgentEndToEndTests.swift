import Foundation
import Testing

/// Hub + enrolled agent + local destination + real restic, as a user runs them.
@Suite("agent and hub end to end", .serialized, .enabled(if: Fleet.available, "mzpanel, mzpanel-agent or restic is missing"))
struct AgentEndToEndTests {
    func addJob(_ fleet: Fleet, _ name: String, server: String, path: URL, keepLast: Int, destination: String = "here") async throws -> String {
        let job = try await fleet.cli.run([
            "jobs", "add", name, "--server", server, "--kind", "full", "--path", path.path,
            "--schedule", "daily 03:00", "--keep-last", String(keepLast), "--destination", destination, "--json",
        ])
        #expect(job.status == 0, "\(job.stderr)")
        return try #require(job.object["id"] as? String)
    }

    func addLocalDestination(_ fleet: Fleet) async throws -> URL {
        let repositoryBase = fleet.directory.appendingPathComponent("repos")
        let added = try await fleet.cli.run(["destinations", "add", "here", "--kind", "local", "--path", repositoryBase.path])
        #expect(added.status == 0, "\(added.stderr)")
        return repositoryBase
    }

    /// Waits until the agent's copy of its job list contains the job (the daemon syncs on change).
    func waitForJob(_ fleet: Fleet, _ agent: Fleet.Agent, _ jobID: String) async throws {
        let known = try await fleet.eventually(30) {
            let status = try await agent.run(["status", "--json"])
            return status.stdout.contains(jobID)
        }
        #expect(known, "the agent never learned job \(jobID)")
    }

    /// A fleet with one enrolled server, its daemon, a local destination and a job "nightly" it knows.
    func nightlyJob() async throws -> (Fleet, Fleet.Agent, String) {
        let fleet = try await Fleet()
        let agent = try await fleet.enroll("web-1")
        _ = try fleet.startDaemon(agent)
        _ = try await addLocalDestination(fleet)
        let tree = try fleet.makeTree("site")
        let jobID = try await addJob(fleet, "nightly", server: "web-1", path: tree, keepLast: 5)
        try await waitForJob(fleet, agent, jobID)
        return (fleet, agent, jobID)
    }

    @Test("three runs with keep-last 2 leave exactly two snapshots, in restic and in the hub")
    func fullLoop() async throws {
        let fleet = try await Fleet()
        defer { fleet.shutdown() }
        let agent = try await fleet.enroll("web-1")
        _ = try fleet.startDaemon(agent)
        let base = try await addLocalDestination(fleet)
        let tree = try fleet.makeTree("site")
        let jobID = try await addJob(fleet, "nightly", server: "web-1", path: tree, keepLast: 2)
        try await waitForJob(fleet, agent, jobID)

        for round in 0..<3 {
            try "round \(round)".write(to: tree.appendingPathComponent("changing.txt"), atomically: true, encoding: .utf8)
            let run = try await agent.run(["run", jobID, "--trigger", "manual"])
            #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
        }
        let listed = try await fleet.eventually {
            let snapshots = try await fleet.cli.run(["snapshots", "list", "--job", "nightly", "--json"])
            return (snapshots.object["snapshots"] as? [Any])?.count == 2
        }
        #expect(listed, "the hub should list exactly two snapshots")
        let runs = try await fleet.cli.run(["runs", "list", "--job", "nightly", "--json"])
        let statuses = (runs.object["runs"] as? [[String: Any]])?.compactMap { $0["status"] as? String }
        #expect(statuses == ["succeeded", "succeeded", "succeeded"])

        let repository = base.appendingPathComponent(agent.serverID).path
        let password = agent.stateDir.appendingPathComponent("repository-passwords").path
        let passwordFile = try #require(try FileManager.default.contentsOfDirectory(atPath: password).first.map { password + "/" + $0 })
        let inRestic = try await Restic.snapshots(repository: repository, passwordFile: passwordFile, tag: "job=\(jobID)")
        #expect(inRestic.count == 2)
        #expect(inRestic.allSatisfy { ($0["hostname"] as? String) == agent.serverID })
        #expect(inRestic.allSatisfy { (($0["tags"] as? [String]) ?? []).contains("mzpanel") })
        let attributes = try FileManager.default.attributesOfItem(atPath: passwordFile)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
    }

    @Test("two jobs sharing a repository each prune only their own snapshots")
    func retentionPerJob() async throws {
        let fleet = try await Fleet()
        defer { fleet.shutdown() }
        let agent = try await fleet.enroll("web-1")
        _ = try fleet.startDaemon(agent)
        let base = try await addLocalDestination(fleet)
        let files = try fleet.makeTree("files")
        let configs = try fleet.makeTree("configs", files: 5)
        let keepOne = try await addJob(fleet, "files", server: "web-1", path: files, keepLast: 1)
        let keepThree = try await addJob(fleet, "configs", server: "web-1", path: configs, keepLast: 3)
        try await waitForJob(fleet, agent, keepOne)
        try await waitForJob(fleet, agent, keepThree)
        for round in 0..<3 {
            for (job, tree) in [(keepOne, files), (keepThree, configs)] {
                try "round \(round)".write(to: tree.appendingPathComponent("changing.txt"), atomically: true, encoding: .utf8)
                let run = try await agent.run(["run", job, "--trigger", "manual"])
                #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
            }
        }
        let repository = base.appendingPathComponent(agent.serverID).path
        let passwords = agent.stateDir.appendingPathComponent("repository-passwords").path
        let passwordFile = passwords + "/" + (try #require(try FileManager.default.contentsOfDirectory(atPath: passwords).first))
        #expect(try await Restic.snapshots(repository: repository, passwordFile: passwordFile, tag: "job=\(keepOne)").count == 1)
        #expect(try await Restic.snapshots(repository: repository, passwordFile: passwordFile, tag: "job=\(keepThree)").count == 3)
        #expect(try await Restic.check(repository: repository, passwordFile: passwordFile) == 0)
    }

    @Test("run now from the CLI waits for the agent and prints the finished run with its snapshot")
    func runNow() async throws {
        let (fleet, _, _) = try await nightlyJob()
        defer { fleet.shutdown() }
        let result = try await fleet.cli.run(["jobs", "run", "nightly", "--wait", "--json"])
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        #expect(result.object["status"] as? String == "succeeded")
        #expect(result.object["trigger"] as? String == "manual")
        let snapshot = try #require(result.object["snapshot"] as? [String: Any])
        #expect((snapshot["copies"] as? [Any])?.count == 1)
    }

    @Test("with the hub down a run still happens, and reaches the hub exactly once when it is back")
    func offline() async throws {
        let fleet = try await Fleet()
        defer { fleet.shutdown() }
        let agent = try await fleet.enroll("web-1")
        let daemon = try fleet.startDaemon(agent)
        _ = try await addLocalDestination(fleet)
        let tree = try fleet.makeTree("site")
        let jobID = try await addJob(fleet, "nightly", server: "web-1", path: tree, keepLast: 5)
        try await waitForJob(fleet, agent, jobID)

        fleet.stopHub()
        let run = try await agent.run(["run", jobID, "--trigger", "manual"])
        #expect(run.status == 0, "a run must not need the hub: \(run.stdout)\(run.stderr)")
        let queued = try await agent.run(["status", "--json"])
        #expect(queued.status == 0)

        try await fleet.startHub()
        let arrived = try await fleet.eventually(30) {
            let runs = try await fleet.cli.run(["runs", "list", "--job", "nightly", "--json"])
            return (runs.object["runs"] as? [Any])?.count == 1
        }
        #expect(arrived, "the run should reach the hub within 30 s of its return")
        // Let the daemon retry once more: the count must stay one.
        try await Task.sleep(for: .seconds(3))
        let runs = try await fleet.cli.run(["runs", "list", "--job", "nightly", "--json"])
        #expect((runs.object["runs"] as? [Any])?.count == 1)
        let snapshots = try await fleet.cli.run(["snapshots", "list", "--job", "nightly", "--json"])
        #expect((snapshots.object["snapshots"] as? [Any])?.count == 1)
        #expect(daemon.isRunning, "the daemon survives the hub's outage")
    }

    @Test("a stopping hub answers the agent's held long-poll at once and exits in seconds, not when the poll runs out")
    func stopWhilePolled() async throws {
        let fleet = try await Fleet()
        defer { fleet.shutdown() }
        let agent = try await fleet.enroll("web-1")
        let daemon = try fleet.startDaemon(agent)
        let log = fleet.directory.appendingPathComponent("daemon-\(agent.serverID).log")
        let connected = try await fleet.eventually(30) { (try? String(contentsOf: log, encoding: .utf8))?.contains("connected to the hub") == true }
        try #require(connected, "the daemon never connected")
        // The daemon's poll now waits up to 25 s on the hub; a stop must not wait for it.
        try await Task.sleep(for: .seconds(1))
        let started = ContinuousClock.now
        fleet.stopHub()
        let took = ContinuousClock.now - started
        #expect(took < .seconds(10), "the hub took \(took) to stop while a poll was held")
        #expect(daemon.isRunning, "the daemon outlives the hub")
    }

    @Test("a timer and a hub trigger for the same slot give one run")
    func slotDedupe() async throws {
        let (fleet, agent, jobID) = try await nightlyJob()
        defer { fleet.shutdown() }
        let slot = "2026-11-20T03:00:00Z"
        let first = try await agent.run(["run", jobID, "--trigger", "timer", "--slot", slot])
        #expect(first.status == 0, "\(first.stdout)\(first.stderr)")
        let second = try await agent.run(["run", jobID, "--trigger", "hub", "--slot", slot])
        #expect(second.status == 0)
        #expect(second.stdout.contains("slot already ran"))
        let single = try await fleet.eventually {
            let runs = try await fleet.cli.run(["runs", "list", "--job", "nightly", "--json"])
            return (runs.object["runs"] as? [Any])?.count == 1
        }
        #expect(single)
    }
}
