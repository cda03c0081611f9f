import BackupCore
import Foundation
import LinkProtocol
import Testing

@testable import Agent

/// What a run waits for on the box: its window's start, a slot under the server's cap (flock),
/// and a destination slot from the hub — which it stops waiting for when the hub stays away.
@Suite("Run gate: windows and concurrency caps on the box")
struct RunGateTests {
    /// Progress reports a gate made, in order.
    final class Reports: @unchecked Sendable {
        private let lock = NSLock()
        private var items: [RunProgress] = []
        func add(_ progress: RunProgress) { lock.withLock { items.append(progress) } }
        var all: [RunProgress] { lock.withLock { items } }
    }

    static func gate(_ state: AgentState, runID: String, link: HubLink? = nil, reports: Reports, log: RunLog = RunLog(echo: false)) -> RunGate {
        var gate = RunGate(
            state: state, link: link, log: log, clock: SystemClock(), runID: runID, heartbeat: {},
            progress: { reports.add($0) })
        gate.poll = 0.2
        gate.hubWaitLimit = 1
        return gate
    }

    @Test func aRunWaitsForItsStartAndSaysSo() async throws {
        try await withTemporaryDirectory { root in
            let state = try Fixtures.enrolledState(in: root, jobs: [])
            let reports = Reports()
            let log = RunLog(echo: false)
            let start = Date().addingTimeInterval(1.2)
            let began = Date()
            #expect(await Self.gate(state, runID: "run_w", reports: reports, log: log).waitUntil(start, held: true))
            #expect(Date().timeIntervalSince(began) >= 1.1, "it waited")
            #expect(reports.all.first?.waiting == RunWait(reason: .window, until: start))
            #expect(reports.all.first?.phase?.hasPrefix("waiting for window until ") == true)
            #expect(log.excerpt.contains("waiting for window"))
            // A start that has passed does not wait.
            #expect(await Self.gate(state, runID: "run_w", reports: Reports()).waitUntil(Date().addingTimeInterval(-5), held: true))
        }
    }

    @Test func theServersCapLetsOneRunAtATimeAndTheNextWaitsFirstInLine() async throws {
        try await withTemporaryDirectory { root in
            let state = try Fixtures.enrolledState(in: root, jobs: [])
            var held: ServerSlot? = try #require(await Self.gate(state, runID: "run_a", reports: Reports()).serverSlot(cap: 1))
            let reports = Reports()
            let waiter = Task { await Self.gate(state, runID: "run_b", reports: reports).serverSlot(cap: 1) }
            try await Task.sleep(for: .milliseconds(1500))
            #expect(reports.all.last?.waiting == RunWait(reason: .slot, position: 1), "\(reports.all)")
            #expect(reports.all.last?.phase == "waiting for slot (position 1 on this server)")
            #expect(held != nil)
            held = nil  // the first run ends: its flock goes with it
            let second = await waiter.value
            #expect(second != nil, "the waiting run took the freed slot")
            // A cap of two: a second run goes at once beside the first.
            let third = await Self.gate(state, runID: "run_c", reports: Reports()).serverSlot(cap: 2)
            #expect(third != nil)
            withExtendedLifetime((second, third)) {}
        }
    }

    @Test func withTheHubAwayARunGoesAheadAfterTheBoundedWaitAndSaysSo() async throws {
        try await withTemporaryDirectory { root in
            let destination = Destination(
                id: "dst_capped", accountID: Fixtures.accountID, name: "bucket", kind: .local, settings: DestinationSettings(path: root + "/b"),
                createdAt: Date(), updatedAt: Date(), maxConcurrentRuns: 1)
            let job = try Fixtures.job(destinationIDs: [destination.id])
            let state = try Fixtures.enrolledState(in: root, jobs: [])
            let link = try HubLink(hubURL: "http://127.0.0.1:9", credential: "mza_test", timeout: 1)
            let log = RunLog(echo: false)
            let reports = Reports()
            let began = Date()
            let hold = await Self.gate(state, runID: "run_h", link: link, reports: reports, log: log).destinationSlots(
                job: job, destinations: [destination])
            #expect(hold != nil, "the run goes ahead: a backup is never lost because the hub is down")
            #expect(Date().timeIntervalSince(began) >= 1, "after the bounded wait")
            #expect(log.excerpt.contains("the hub stayed unreachable") && log.excerpt.contains("going ahead without one"), "\(log.excerpt)")
            #expect(reports.all.contains { $0.waiting?.reason == .slot && $0.waiting?.destinationID == destination.id })
            await hold?.release()
            // No cap: nothing to claim, no wait at all.
            var free = destination
            free.maxConcurrentRuns = nil
            let quick = Date()
            #expect(await Self.gate(state, runID: "run_i", link: link, reports: Reports()).destinationSlots(job: job, destinations: [free]) != nil)
            #expect(Date().timeIntervalSince(quick) < 0.5)
        }
    }

    @Test func aSlotHeldOutsideTheWindowMergesIntoTheLaterOneAndIsSkipped() async throws {
        try await withTemporaryDirectory { root in
            var job = try Fixtures.job(schedule: "hourly")
            job.window = try BackupWindow.parse("01:00-03:00")
            let state = try Fixtures.enrolledState(in: root, jobs: [AgentJob(job: job, destinations: [], envelopes: [])])
            let slot = ISO8601DateFormatter().date(from: "2026-06-01T10:00:00Z")!
            var execution = RunExecution(state: state, engine: await JobRunner.make(), log: RunLog(echo: false), clock: FixedClock(moment: slot))
            execution.deliveryTimeout = 0
            let outcome = try await execution.execute(.init(jobID: job.id, trigger: .timer, slot: slot))
            guard case .skipped(let reason) = outcome else {
                Issue.record("expected the slot to be skipped, got \(outcome)")
                return
            }
            #expect(reason.contains("merges into a later slot"))
            #expect(!state.slots.isClaimed(jobID: job.id, slot: slot), "a merged slot is not claimed")
        }
    }
}
