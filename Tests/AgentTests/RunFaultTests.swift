import BackupCore
import Foundation
import LinkProtocol
import Logging
import ResticKit
import ServiceLifecycle
import Testing

@testable import Agent

/// Faults a run meets on a box, with the real restic: a restic that stops answering (stopped with
/// SIGSTOP), a run process that stops by itself, a run killed after restic saved its snapshot.
@Suite("Run faults (real restic)", .serialized, .enabled(if: ResticPresence.usable, "restic is not installed (apt-get install restic)"))
struct RunFaultTests {
    static func backupJob(root: String, destination: Destination, id: String = ResourceID.make(.job), databases: [DatabaseSource] = []) throws
        -> AgentJob
    {
        AgentJob(
            job: try Fixtures.job(
                id: id, paths: [root + "/site"], databases: databases, retention: .init(keepLast: 1),
                destinationIDs: [destination.id]),
            destinations: [destination], envelopes: [])
    }

    /// A process that has ended: a run killed with -9 leaves such a pid in its `running/` entry.
    static func endedProcessID() throws -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/true")
        try process.run()
        process.waitUntilExit()
        return process.processIdentifier
    }

    static func isBackup(_ pid: Int32) -> Bool {
        guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return false }
        return data.split(separator: 0).contains { String(decoding: $0, as: UTF8.self) == "backup" }
    }

    @Test("a run whose restic stops answering is ended by its watchdog, reported failed, and the job's next run succeeds", .timeLimit(.minutes(2)))
    func stalledResticIsEnded() async throws {
        try await withTemporaryDirectory { root in
            try Fixtures.makeTree(at: root + "/site", files: 20)
            let jobID = ResourceID.make(.job)
            let setup = try JobRunnerTests.setup(root: root) { [try Self.backupJob(root: root, destination: $0, id: jobID)] }
            var execution = await setup.execution()
            // A first run creates the repository (restic init is silent for seconds on a busy machine).
            let (first, _) = try JobRunnerTests.finished(try await execution.execute(.init(jobID: jobID, trigger: .manual)))
            #expect(first.status == .succeeded)
            try Data("changed".utf8).write(to: URL(fileURLWithPath: root + "/site/new.txt"))
            execution.stallLimit = .seconds(5)
            let runID = ResourceID.make(.run)
            // Stop (SIGSTOP) the run's `restic backup` as soon as it appears: it then prints nothing, forever.
            let stopper = Task {
                var stopped = Set<Int32>()
                while !Task.isCancelled {
                    for pid in OrphanProcesses.find(runID: runID) where !stopped.contains(pid) && Self.isBackup(pid) {
                        kill(pid, SIGSTOP)
                        stopped.insert(pid)
                    }
                    try? await Task.sleep(for: .milliseconds(5))
                }
                return stopped.count
            }
            let clock = ContinuousClock()
            let began = clock.now
            let (run, snapshot) = try JobRunnerTests.finished(try await execution.execute(.init(jobID: jobID, trigger: .manual, runID: runID)))
            let took = clock.now - began
            stopper.cancel()
            #expect(await stopper.value >= 1, "restic backup was never seen: \(run.logExcerpt ?? "")")
            #expect(run.status == .failed, "\(run.results)")
            #expect(run.results.first?.error?.contains("no progress for 5 seconds") == true, "\(run.results)")
            #expect(snapshot == nil)
            #expect(took < .seconds(30))
            #expect(OrphanProcesses.find(runID: runID).isEmpty, "restic of the stalled run is still there")
            #expect(setup.state.running.entries().isEmpty)
            let finished = try setup.state.outbox.pending().filter { $0.kind == .runFinished && $0.run.id == runID }
            #expect(finished.map(\.run.status) == [.failed])

            // Nothing of the stuck run blocks the job: the next run makes its copy.
            execution.stallLimit = nil
            let (next, nextSnapshot) = try JobRunnerTests.finished(try await execution.execute(.init(jobID: jobID, trigger: .manual)))
            #expect(next.status == .succeeded, "\(next.results) \(next.logExcerpt ?? "")")
            #expect(nextSnapshot != nil)
        }
    }

    @Test("a run process that stops recording progress past its limit is ended and reported failed, once", .timeLimit(.minutes(1)))
    func stuckRunProcessIsEnded() async throws {
        // The run process is played by `sleep`: an agent stuck inside itself (a deadlock) cannot be caused on demand.
        try await withTemporaryDirectory { root in
            let destination = Fixtures.localDestination(path: root + "/backups")
            let agentJob = try Self.backupJob(root: root, destination: destination)
            let state = try Fixtures.enrolledState(in: root, jobs: [agentJob])
            let stuck = Process()
            stuck.executableURL = URL(fileURLWithPath: "/bin/sleep")
            stuck.arguments = ["600"]
            // Not on the test's own output: a sleep left behind would hold `swift test`'s pipe open until it ends.
            stuck.standardOutput = FileHandle.nullDevice
            stuck.standardError = FileHandle.nullDevice
            try stuck.run()
            defer { if stuck.isRunning { kill(stuck.processIdentifier, SIGKILL) } }
            let started = Date().addingTimeInterval(-60)
            let run = Run(
                id: ResourceID.make(.run), accountID: Fixtures.accountID, serverID: Fixtures.serverID, jobID: agentJob.job.id, trigger: .timer,
                status: .running, createdAt: started, startedAt: started,
                results: [DestinationResult(destinationID: destination.id, status: .running)])
            try state.running.register(run, pid: stuck.processIdentifier, stallLimit: .seconds(30))

            // Within its limit and margin: left alone.
            #expect(await RunSession.reportInterruptedRuns(state, clock: SystemClock(), stallMargin: 60, log: { _ in }) == 0)
            #expect(stuck.isRunning)
            // Past them: ended and reported failed, saying why; a second look finds nothing more.
            #expect(await RunSession.reportInterruptedRuns(state, clock: SystemClock(), stallMargin: 5, log: { _ in }) == 1)
            stuck.waitUntilExit()
            #expect(stuck.terminationReason == .uncaughtSignal)
            #expect(await RunSession.reportInterruptedRuns(state, clock: SystemClock(), stallMargin: 5, log: { _ in }) == 0)
            let events = try state.outbox.pending()
            #expect(events.count == 1)
            #expect(events.first?.run.status == .failed)
            #expect(events.first?.run.results.first?.error?.contains("made no progress for 30 seconds") == true)
            #expect(state.running.entries().isEmpty)
        }
    }

    @Test("a run killed after restic saved its copy: the complete copy is reported with the interrupted run")
    func completeLeftoverIsReported() async throws {
        try await withTemporaryDirectory { root in
            try Fixtures.makeTree(at: root + "/site", files: 10)
            let jobID = ResourceID.make(.job)
            let setup = try JobRunnerTests.setup(root: root) { [try Self.backupJob(root: root, destination: $0, id: jobID)] }
            let agentJob = try #require(try setup.state.loadJobs()?.jobs.first)
            let identity = try setup.state.loadIdentity()
            // The run's work is done (snapshot saved, retention applied), then its process is killed before it reports.
            let started = Date()
            let run = Run(
                id: ResourceID.make(.run), accountID: Fixtures.accountID, serverID: Fixtures.serverID, jobID: jobID, trigger: .manual,
                status: .running, createdAt: started, startedAt: started,
                results: [DestinationResult(destinationID: setup.destination.id, status: .running)])
            let outcome = await JobRunner.make().perform(
                RunContext(job: agentJob, identity: identity, runID: run.id, state: setup.state, log: RunLog(echo: false)) { _ in })
            let saved = try #require(outcome.results.first?.resticSnapshotIDs.first)
            // An earlier run reported a snapshot that the killed run's retention had removed (forget --prune under way).
            var earlier = run
            earlier.id = ResourceID.make(.run)
            earlier.status = .succeeded
            earlier.results = [DestinationResult(destinationID: setup.destination.id, status: .succeeded, resticSnapshotIDs: ["0ld5nap1"])]
            try setup.state.history.record(earlier)
            try setup.state.running.register(run, pid: try Self.endedProcessID())

            #expect(await RunSession.reportInterruptedRuns(setup.state, clock: SystemClock(), log: { _ in }) == 1)
            let event = try #require(try setup.state.outbox.pending().first)
            #expect(event.kind == .runFinished && event.run.status == .interrupted)
            #expect(event.run.results.first?.status == .succeeded)
            #expect(event.snapshot?.copies.first?.resticSnapshotIDs.map { $0.prefix(8) } == [saved.prefix(8)])
            #expect(event.snapshot?.runID == run.id)
            #expect(event.pruned == [PrunedCopies(destinationID: setup.destination.id, resticSnapshotIDs: ["0ld5nap1"])])
            #expect(try setup.snapshots(tags: ["run=\(run.id)"]).count == 1)
        }
    }

    @Test("a run killed before all its sources were saved: the incomplete copy is forgotten, the run reported without a snapshot")
    func incompleteLeftoverIsForgotten() async throws {
        try await withTemporaryDirectory { root in
            try Fixtures.makeTree(at: root + "/site", files: 10)
            let jobID = ResourceID.make(.job)
            let database = DatabaseSource(engine: .sqlite, name: root + "/app.db")
            let setup = try JobRunnerTests.setup(root: root) { [try Self.backupJob(root: root, destination: $0, id: jobID, databases: [database])] }
            let agentJob = try #require(try setup.state.loadJobs()?.jobs.first)
            let started = Date()
            let run = Run(
                id: ResourceID.make(.run), accountID: Fixtures.accountID, serverID: Fixtures.serverID, jobID: jobID, trigger: .manual,
                status: .running, createdAt: started, startedAt: started,
                results: [DestinationResult(destinationID: setup.destination.id, status: .running)])
            // The files were saved; the kill came before the database dump.
            let access = RepositoryAccess(
                identity: try setup.state.loadIdentity(), state: setup.state, runID: run.id, envelopes: [], peerCertificates: nil,
                repositoryServerID: Fixtures.serverID)
            let repository = try JobRunner.repository(of: setup.destination, access: access)
            let restic = try #require(try? (await JobRunner.make()).restic.get())
            _ = try await restic.initialize(repository)
            _ = try await restic.backup(
                repository, paths: [root + "/site"], excludes: [], tags: SnapshotTags.tags(jobID: jobID, runID: run.id, source: "files"),
                host: Fixtures.serverID, progress: { _ in })
            #expect(try setup.snapshots(tags: ["run=\(run.id)"]).count == 1)
            _ = agentJob
            try setup.state.running.register(run, pid: try Self.endedProcessID())

            #expect(await RunSession.reportInterruptedRuns(setup.state, clock: SystemClock(), log: { _ in }) == 1)
            let event = try #require(try setup.state.outbox.pending().first)
            #expect(event.run.status == .interrupted)
            #expect(event.run.results.first?.status == .failed)
            #expect(event.snapshot == nil)
            #expect(try setup.snapshots(tags: ["run=\(run.id)"]).isEmpty)
        }
    }

    @Test("the watchdog's limit follows the job: kind, and its longest recent run on the box")
    func stallLimits() throws {
        let backup = try Fixtures.job()
        let check = try Fixtures.job(kind: .check)
        #expect(RunWatchdog.limit(for: backup, history: []) == .seconds(1800))
        #expect(RunWatchdog.limit(for: check, history: []) == .seconds(7200))
        #expect(
            RunWatchdog.limit(for: backup, trigger: .copy, history: []) == .seconds(7200), "a copy prints nothing while one snapshot's data moves")
        let start = Date(timeIntervalSince1970: 1_700_000_000)
        let long = Run(
            id: ResourceID.make(.run), accountID: Fixtures.accountID, serverID: Fixtures.serverID, jobID: backup.id, trigger: .timer,
            status: .succeeded, createdAt: start, startedAt: start, finishedAt: start.addingTimeInterval(3 * 3600))
        #expect(RunWatchdog.limit(for: backup, history: [long]) == .seconds(3 * 3600))
        var endless = long
        endless.finishedAt = start.addingTimeInterval(30 * 3600)
        #expect(RunWatchdog.limit(for: backup, history: [endless]) == .seconds(12 * 3600))
    }
}

/// The link's timeouts: one mechanism (URLSession's own), and cancellation that never waits on URLSession.
@Suite("Hub link timeouts", .serialized)
struct HubLinkTimeoutTests {
    @Test("requests cancelled just as URLSession's own timeout fires all end", .timeLimit(.minutes(1)))
    func cancelAtTheTimeout() async throws {
        let hub = try SilentHub()
        let link = try HubLink(hubURL: hub.url, credential: "mza_test", timeout: 0.5)
        let clock = ContinuousClock()
        let began = clock.now
        let ended = await withTaskGroup(of: Bool.self) { group in
            for index in 0..<60 {
                group.addTask {
                    let call = Task { _ = try? await link.jobs() }
                    // Around the request's 0.5 s timeout: some before, some after, some at the same moment.
                    try? await Task.sleep(for: .milliseconds(440 + (index % 12) * 10))
                    call.cancel()
                    await call.value
                    return true
                }
            }
            return await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        #expect(ended == 60)
        #expect(clock.now - began < .seconds(10))
    }

    @Test("a best-effort delivery to a hub that never answers ends with the link's timeout")
    func deliveryIsBounded() async throws {
        try await withTemporaryDirectory { root in
            let hub = try SilentHub()
            let state = try Fixtures.enrolledState(in: root, jobs: [], hubURL: hub.url)
            let run = Run(
                id: ResourceID.make(.run), accountID: Fixtures.accountID, serverID: Fixtures.serverID, jobID: ResourceID.make(.job),
                trigger: .manual, status: .running, createdAt: Date(), startedAt: Date())
            try state.outbox.append(AgentEvent(id: ResourceID.make(.event), kind: .runStarted, occurredAt: Date(), run: run))
            let link = try HubLink(hubURL: hub.url, credential: "mza_test", timeout: 1)
            let clock = ContinuousClock()
            let began = clock.now
            await state.outbox.deliver(via: link, within: 1)
            #expect(clock.now - began < .seconds(5))
            #expect(state.outbox.depth == 1)
        }
    }
}

/// The daemon reports an interrupted run at once, not after the long poll under way.
@Suite("Daemon: interrupted runs", .serialized)
struct DaemonInterruptedRunTests {
    @Test("a run found killed reaches the hub while the long poll still waits", .timeLimit(.minutes(1)))
    func reportedAtOnce() async throws {
        try await withTemporaryDirectory { root in
            let hub = try FakeHub.start(in: root, pollDelay: 20)
            defer { hub.stop() }
            let job = try Fixtures.job(retention: .init(keepAll: true))
            let state = try Fixtures.enrolledState(in: root, jobs: [AgentJob(job: job, destinations: [], envelopes: [])], hubURL: hub.url)
            var options = Daemon.Options(firesSlots: false)
            options.tickInterval = 0.2
            let daemon = try Daemon(
                state: state, settings: AgentSettings(systemdDirectory: nil), options: options, agentBinary: "/bin/false",
                logger: Logger(label: "daemon-test"))
            let group = daemon.serviceGroup(logger: Logger(label: "daemon-test"), signals: [])
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask { try await group.run() }
                // Wait until the daemon's long poll is under way.
                for _ in 0..<100 where !hub.requests().contains(where: { $0.path == "/api/agent/v1/commands" }) {
                    try await Task.sleep(for: .milliseconds(50))
                }
                let run = Run(
                    id: ResourceID.make(.run), accountID: Fixtures.accountID, serverID: Fixtures.serverID, jobID: job.id, trigger: .manual,
                    status: .running, createdAt: Date(), startedAt: Date())
                try state.running.register(run, pid: try RunFaultTests.endedProcessID())
                let clock = ContinuousClock()
                let began = clock.now
                var delivered = false
                while !delivered && clock.now - began < .seconds(15) {
                    delivered = hub.events().contains { $0.run.id == run.id && $0.run.status == .interrupted }
                    if !delivered { try await Task.sleep(for: .milliseconds(100)) }
                }
                #expect(delivered)
                #expect(clock.now - began < .seconds(5), "the interrupted run waited for the long poll")
                await group.triggerGracefulShutdown()
                try await tasks.next()
            }
        }
    }
}
