import BackupCore
import Foundation
import LinkProtocol
import Testing

@testable import Agent

@Suite("Running runs")
struct RunningRegistryTests {
    static func run(_ id: String) -> Run {
        Run(
            id: id, accountID: Fixtures.accountID, serverID: Fixtures.serverID, jobID: "job_j", trigger: .timer,
            slot: Date(timeIntervalSince1970: 1_767_225_600), status: .running, createdAt: Date(), startedAt: Date(),
            results: [DestinationResult(destinationID: "dst_d", status: .running)])
    }

    @Test("a live process is not reaped; a dead one is reaped once and reported interrupted")
    func reap() async throws {
        try await withTemporaryDirectory { root in
            let registry = RunningRegistry(directory: root + "/running")
            try registry.register(Self.run("run_alive"))
            let child = Process()
            child.executableURL = URL(fileURLWithPath: "/bin/true")
            try child.run()
            child.waitUntilExit()
            try registry.register(Self.run("run_dead"), pid: child.processIdentifier)

            #expect(registry.alive().map(\.runID) == ["run_alive"])
            let reaped = registry.reapDead()
            #expect(reaped.map(\.runID) == ["run_dead"])
            #expect(registry.reapDead().isEmpty, "an entry is reaped once")
            #expect(registry.entries().map(\.runID) == ["run_alive"])

            let event = RunningRegistry.interruptedEvent(for: reaped[0])
            #expect(event.kind == .runFinished)
            #expect(event.run.status == .interrupted)
            #expect(event.run.finishedAt != nil)
            #expect(event.run.results.first?.status == .failed)
            #expect(event.run.slot == Date(timeIntervalSince1970: 1_767_225_600))
            #expect(event.id.count <= 64)
        }
    }

    @Test("a reused pid with another start time counts as dead")
    func pidReuse() async throws {
        try await withTemporaryDirectory { root in
            let registry = RunningRegistry(directory: root + "/running")
            try registry.register(Self.run("run_x"))
            var entry = try #require(registry.entries().first)
            #expect(ProcessLiveness.isAlive(pid: entry.pid, startTicks: entry.processStartTicks))
            entry.processStartTicks = (entry.processStartTicks ?? 0) + 1
            #expect(!ProcessLiveness.isAlive(pid: entry.pid, startTicks: entry.processStartTicks))
        }
    }
}

@Suite("Redaction")
struct RedactorTests {
    @Test("the run log keeps the last 50 lines, redacted")
    func runLog() {
        let log = RunLog(secrets: ["s3cr3t-value"], echo: false)
        for index in 0..<120 { log("line \(index) s3cr3t-value") }
        let lines = log.excerpt.split(separator: "\n")
        #expect(lines.count == 50)
        #expect(lines.last?.hasSuffix("line 119 [redacted]") == true)
        #expect(!log.excerpt.contains("s3cr3t-value"))
    }
}
