import BackupCore
import Foundation
import LinkProtocol
import ResticKit
import Testing

@testable import Agent

enum ResticPresence {
    static let path = ProgramLocator.find("restic")
    /// On CI a missing restic fails the tests instead of skipping them.
    static var usable: Bool { path != nil || Fixtures.isCI }
}

/// Runs against the real restic (0.14 on this machine) with a local destination.
@Suite("Job runner (real restic)", .enabled(if: ResticPresence.usable, "restic is not installed (apt-get install restic)"))
struct JobRunnerTests {
    static let restic = ResticPresence.path

    struct Setup {
        let root: String
        let state: AgentState
        let destination: Destination
        var repository: String { destination.settings.path! + "/" + Fixtures.serverID }

        func execution() async -> RunExecution {
            var execution = RunExecution(state: state, engine: await JobRunner.make(), log: RunLog(echo: false))
            execution.deliveryTimeout = 2
            return execution
        }

        /// `restic snapshots --json` of the repository, filtered by tags.
        func snapshots(tags: [String]) throws -> [[String: Any]] {
            let password = try state.repositoryPasswordFile(destinationID: destination.id)
            let result = try runProgram(
                try #require(JobRunnerTests.restic),
                ["-r", repository, "snapshots", "--json", "--no-lock", "--tag", tags.joined(separator: ",")],
                environment: ["RESTIC_PASSWORD_FILE": password, "RESTIC_CACHE_DIR": root + "/cache", "PATH": "/usr/bin:/bin"])
            #expect(result.status == 0, "restic snapshots failed: \(result.output)")
            let line = result.output.split(separator: "\n").first { $0.hasPrefix("[") } ?? "[]"
            return (try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [[String: Any]]) ?? []
        }
    }

    static func setup(root: String, jobs: (Destination) throws -> [AgentJob]) throws -> Setup {
        let destination = Fixtures.localDestination(path: root + "/backups")
        let state = try Fixtures.enrolledState(in: root, jobs: try jobs(destination))
        return Setup(root: root, state: state, destination: destination)
    }

    static func finished(_ outcome: RunExecution.Outcome) throws -> (Run, Snapshot?) {
        guard case .finished(let run, let snapshot) = outcome else {
            Issue.record("expected a finished run, got \(outcome)")
            throw AgentError("not finished")
        }
        return (run, snapshot)
    }

    @Test("two runs with keep-last 1 leave one snapshot tagged job=<id>; events wait in the outbox")
    func keepLast() async throws {
        try await withTemporaryDirectory { root in
            try Fixtures.makeTree(at: root + "/site", files: 40)
            let jobID = ResourceID.make(.job)
            let setup = try Self.setup(root: root) { destination in
                [
                    AgentJob(
                        job: try Fixtures.job(
                            id: jobID, paths: [root + "/site"], excludes: ["*.tmp"], retention: .init(keepLast: 1),
                            destinationIDs: [destination.id]),
                        destinations: [destination], envelopes: [])
                ]
            }
            let execution = await setup.execution()
            let (first, firstSnapshot) = try Self.finished(try await execution.execute(.init(jobID: jobID, trigger: .manual)))
            #expect(first.status == .succeeded, "first run: \(first.results) \(first.logExcerpt ?? "")")
            try Data("changed".utf8).write(to: URL(fileURLWithPath: root + "/site/new.txt"))
            let (second, secondSnapshot) = try Self.finished(try await execution.execute(.init(jobID: jobID, trigger: .manual)))
            #expect(second.status == .succeeded)

            let remaining = try setup.snapshots(tags: ["job=\(jobID)"])
            #expect(remaining.count == 1)
            let tags = remaining.first?["tags"] as? [String] ?? []
            #expect(Set(tags) == ["mzpanel", "job=\(jobID)", "run=\(second.id)", "source=files"])
            #expect(remaining.first?["hostname"] as? String == Fixtures.serverID)

            let copy = try #require(secondSnapshot?.copies.first)
            #expect(copy.destinationID == setup.destination.id)
            #expect(copy.resticSnapshotIDs.count == 1)
            #expect(firstSnapshot?.id != secondSnapshot?.id)
            #expect(second.bytesProcessed > 0)
            #expect(second.logExcerpt?.contains("retention") == true)

            // The hub is down: both runs' start and finish wait in the outbox, nothing is running.
            let events = try setup.state.outbox.pending()
            #expect(events.map(\.kind) == [.runStarted, .runFinished, .runStarted, .runFinished])
            #expect(events.last?.snapshot?.id == secondSnapshot?.id)
            #expect(events.last?.snapshot?.copies == secondSnapshot?.copies)
            #expect(setup.state.running.entries().isEmpty)
            #expect(setup.state.history.load().map(\.id) == [second.id, first.id])
            let password = try setup.state.repositoryPasswordFile(destinationID: setup.destination.id)
            #expect(SecureFile.mode(of: password) == 0o600)
        }
    }

    @Test("two jobs sharing a repository each prune only their own snapshots")
    func sharedRepository() async throws {
        try await withTemporaryDirectory { root in
            try Fixtures.makeTree(at: root + "/a", files: 10, seed: 1)
            try Fixtures.makeTree(at: root + "/b", files: 10, seed: 2)
            let jobA = ResourceID.make(.job)
            let jobB = ResourceID.make(.job)
            let setup = try Self.setup(root: root) { destination in
                [
                    AgentJob(
                        job: try Fixtures.job(id: jobA, paths: [root + "/a"], retention: .init(keepLast: 1), destinationIDs: [destination.id]),
                        destinations: [destination], envelopes: []),
                    AgentJob(
                        job: try Fixtures.job(id: jobB, paths: [root + "/b"], retention: .init(keepLast: 3), destinationIDs: [destination.id]),
                        destinations: [destination], envelopes: []),
                ]
            }
            let execution = await setup.execution()
            for _ in 0..<3 {
                for job in [jobA, jobB] {
                    let (run, _) = try Self.finished(try await execution.execute(.init(jobID: job, trigger: .manual)))
                    #expect(run.status == .succeeded, "\(run.results)")
                }
            }
            #expect(try setup.snapshots(tags: ["job=\(jobA)"]).count == 1)
            #expect(try setup.snapshots(tags: ["job=\(jobB)"]).count == 3)
        }
    }

    @Test("a re-run trusts the remembered repository; one removed since is created again, and a stale lock is still cleared")
    func rememberedRepository() async throws {
        try await withTemporaryDirectory { root in
            try Fixtures.makeTree(at: root + "/site", files: 10)
            let jobID = ResourceID.make(.job)
            let setup = try Self.setup(root: root) { destination in
                [
                    AgentJob(
                        job: try Fixtures.job(id: jobID, paths: [root + "/site"], retention: .init(keepAll: true), destinationIDs: [destination.id]),
                        destinations: [destination], envelopes: [])
                ]
            }
            let execution = await setup.execution()
            let (first, _) = try Self.finished(try await execution.execute(.init(jobID: jobID, trigger: .manual)))
            #expect(first.status == .succeeded, "\(first.results)")
            #expect(SecureFile.list(setup.state.directory + "/repositories").count == 1)

            // The destination was wiped: the run finds no repository where one was remembered, and makes it again.
            try FileManager.default.removeItem(atPath: setup.repository)
            let (second, _) = try Self.finished(try await execution.execute(.init(jobID: jobID, trigger: .manual)))
            #expect(second.status == .succeeded, "\(second.results) \(second.logExcerpt ?? "")")
            #expect(second.logExcerpt?.contains("creating it again") == true)
            #expect(try setup.snapshots(tags: ["job=\(jobID)"]).count == 1)

            // A restic killed while holding its lock leaves a stale lock file: the next run removes it.
            let password = try setup.state.repositoryPasswordFile(destinationID: setup.destination.id)
            let stuck = Process()
            stuck.executableURL = URL(fileURLWithPath: try #require(Self.restic))
            stuck.arguments = ["-r", setup.repository, "backup", "--stdin", "--stdin-filename", "stuck"]
            stuck.environment = ["RESTIC_PASSWORD_FILE": password, "RESTIC_CACHE_DIR": root + "/cache", "PATH": "/usr/bin:/bin"]
            let input = Pipe()
            stuck.standardInput = input
            stuck.standardOutput = FileHandle.nullDevice
            stuck.standardError = FileHandle.nullDevice
            try stuck.run()
            // A lock file is complete once renamed from restic's temporary name.
            let locks = { SecureFile.list(setup.repository + "/locks").filter { !$0.contains("-tmp-") } }
            var locked = false
            for _ in 0..<200 where !locked {
                locked = !locks().isEmpty
                if !locked { try await Task.sleep(for: .milliseconds(50)) }
            }
            #expect(locked, "restic never took its lock")
            kill(stuck.processIdentifier, SIGKILL)
            stuck.waitUntilExit()
            #expect(!locks().isEmpty)
            let (third, _) = try Self.finished(try await execution.execute(.init(jobID: jobID, trigger: .manual)))
            #expect(third.status == .succeeded, "\(third.results)")
            #expect(locks().isEmpty, "the stale lock was not removed")
        }
    }

    @Test("a SQLite database is dumped into its own snapshot; a broken one fails the copy and leaves no snapshot")
    func sqlite() async throws {
        let sqlite3 = try #require(ProgramLocator.find("sqlite3") ?? (Fixtures.isCI ? nil : "skip"))
        if sqlite3 == "skip" { return }
        try await withTemporaryDirectory { root in
            let good = root + "/app.db"
            let broken = root + "/broken.db"
            try runProgram(sqlite3, [good, "CREATE TABLE t(x); INSERT INTO t VALUES('hello');"])
            try Data(repeating: 0x41, count: 4096).write(to: URL(fileURLWithPath: broken))
            let goodJob = ResourceID.make(.job)
            let brokenJob = ResourceID.make(.job)
            let setup = try Self.setup(root: root) { destination in
                [
                    AgentJob(
                        job: try Fixtures.job(
                            id: goodJob, kind: .database, databases: [DatabaseSource(engine: .sqlite, name: good)],
                            destinationIDs: [destination.id]), destinations: [destination], envelopes: []),
                    AgentJob(
                        job: try Fixtures.job(
                            id: brokenJob, kind: .database, databases: [DatabaseSource(engine: .sqlite, name: broken)],
                            destinationIDs: [destination.id]), destinations: [destination], envelopes: []),
                ]
            }
            let execution = await setup.execution()
            let (ok, _) = try Self.finished(try await execution.execute(.init(jobID: goodJob, trigger: .manual)))
            #expect(ok.status == .succeeded, "\(ok.results)")
            let dumps = try setup.snapshots(tags: ["job=\(goodJob)", "source=db-sqlite-app.db"])
            #expect(dumps.count == 1)
            #expect(dumps.first?["paths"] as? [String] == ["/sqlite-app.db.sql"])

            let (failed, snapshot) = try Self.finished(try await execution.execute(.init(jobID: brokenJob, trigger: .manual)))
            #expect(failed.status == .failed)
            #expect(snapshot == nil)
            let error = try #require(failed.results.first?.error)
            #expect(error.contains("sqlite3"), "\(error)")
            #expect(try setup.snapshots(tags: ["job=\(brokenJob)"]).isEmpty)
        }
    }

    @Test(
        "a broken PostgreSQL connection fails the copy in plain words and leaves no snapshot",
        .enabled(if: ProgramLocator.find("pg_dump") != nil || Fixtures.isCI, "pg_dump is not installed (apt-get install postgresql-client)"))
    func brokenPostgres() async throws {
        try await withTemporaryDirectory { root in
            let jobID = ResourceID.make(.job)
            let setup = try Self.setup(root: root) { destination in
                [
                    AgentJob(
                        job: try Fixtures.job(
                            id: jobID, kind: .database,
                            databases: [DatabaseSource(engine: .postgresql, name: "shop", connection: "backup@127.0.0.1:1")],
                            destinationIDs: [destination.id]),
                        destinations: [destination], envelopes: [])
                ]
            }
            let (run, snapshot) = try Self.finished(try await setup.execution().execute(.init(jobID: jobID, trigger: .manual)))
            #expect(run.status == .failed)
            #expect(snapshot == nil)
            let error = try #require(run.results.first?.error)
            #expect(error.contains("database postgresql shop"), "\(error)")
            #expect(error.contains("pg_dump"), "\(error)")
            #expect(error.lowercased().contains("connection") || error.lowercased().contains("connect"), "\(error)")
            #expect(try setup.snapshots(tags: ["job=\(jobID)"]).isEmpty, "the partial snapshot was forgotten")
        }
    }

    @Test("an offsite destination fails in plain words; the local copy makes the run partial")
    func partial() async throws {
        try await withTemporaryDirectory { root in
            try Fixtures.makeTree(at: root + "/site", files: 5)
            let jobID = ResourceID.make(.job)
            let offsite = Destination(
                id: ResourceID.make(.destination), accountID: Fixtures.accountID, name: "r2", kind: .s3,
                settings: DestinationSettings(endpoint: "https://r2.example.com", bucket: "b"), createdAt: Date(), updatedAt: Date())
            let setup = try Self.setup(root: root) { destination in
                [
                    AgentJob(
                        job: try Fixtures.job(id: jobID, paths: [root + "/site"], destinationIDs: [destination.id, offsite.id]),
                        destinations: [destination, offsite], envelopes: [])
                ]
            }
            let (run, snapshot) = try Self.finished(try await setup.execution().execute(.init(jobID: jobID, trigger: .manual)))
            #expect(run.status == .partial)
            #expect(run.results.map(\.status) == [.succeeded, .failed])
            #expect(run.results[1].error?.hasPrefix("destination r2 is not sealed to this server yet") == true, "\(run.results[1])")
            #expect(snapshot?.copies.map(\.destinationID) == [setup.destination.id])
        }
    }

    @Test("a slot runs once: a second trigger of the same slot does nothing")
    func slotOnce() async throws {
        try await withTemporaryDirectory { root in
            try Fixtures.makeTree(at: root + "/site", files: 3)
            let jobID = ResourceID.make(.job)
            let setup = try Self.setup(root: root) { destination in
                [
                    AgentJob(
                        job: try Fixtures.job(id: jobID, paths: [root + "/site"], schedule: "hourly", destinationIDs: [destination.id]),
                        destinations: [destination], envelopes: [])
                ]
            }
            var execution = await setup.execution()
            let now = Date().wholeMilliseconds
            execution.clock = FixedClock(moment: now)
            let slot = try #require(SlotClaims.currentSlot(for: try Schedule.parse("hourly"), now: now))
            let (run, _) = try Self.finished(try await execution.execute(.init(jobID: jobID, trigger: .timer)))
            #expect(run.slot == slot)
            let hubTrigger = try await execution.execute(.init(jobID: jobID, trigger: .hub, runID: ResourceID.make(.run), slot: slot))
            guard case .slotAlreadyRan(let claimed) = hubTrigger else {
                Issue.record("expected slotAlreadyRan, got \(hubTrigger)")
                return
            }
            #expect(claimed == slot)
            #expect(try setup.snapshots(tags: ["job=\(jobID)"]).count == 1)
        }
    }
}

@Suite("Known restic", .enabled(if: ResticPresence.usable, "restic is not installed (apt-get install restic)"))
struct KnownResticTests {
    @Test("restic's version is asked once per binary: remembered while its identity holds, asked again when it changes")
    func rememberedVersion() async throws {
        try await withTemporaryDirectory { root in
            let state = AgentState(directory: root + "/state")
            try state.prepare()
            let file = state.directory + "/restic-version"
            let first = try await KnownRestic.detect(state: state)
            let lines = String(decoding: try #require(try SecureFile.read(file)), as: UTF8.self).split(separator: "\n").map(String.init)
            #expect(lines.count == 3)
            #expect(lines.first == first.executablePath)

            // The remembered answer is used as long as the binary is the same file (no restic process).
            try SecureFile.write(Data("\(lines[0])\n\(lines[1])\nrestic 9.8.7\n".utf8), to: file)
            #expect(try await KnownRestic.detect(state: state).version == ResticVersion(major: 9, minor: 8, patch: 7))

            // A replaced binary (another identity) is asked again.
            try SecureFile.write(Data("\(lines[0])\n0-0-0-0.0\nrestic 9.8.7\n".utf8), to: file)
            #expect(try await KnownRestic.detect(state: state).version == first.version)
        }
    }
}
