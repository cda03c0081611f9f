import BackupCore
import Foundation
import LinkProtocol
import ResticKit

/// The skeleton every run on the box follows, backup or restore: record it started in the outbox
/// and tell the hub at once (without delaying the work), send live progress straight to the hub,
/// then record it finished with its log. One place, so both kinds of run report alike.
struct RunSession: Sendable {
    let state: AgentState
    let link: HubLink?
    let log: RunLog
    let clock: any HubClock
    /// Seconds to try delivering the outbox (0 = do not try).
    let deliveryTimeout: Double

    /// What the work hands back to be recorded with the finished run.
    struct Finish: Sendable {
        var snapshot: Snapshot?
        var pruned: [PrunedCopies]?
    }

    /// Records `run` started, runs `work` with a progress sink, lets `finish` fill in the outcome
    /// (status, results, totals), and records the finished run. A cancelled run ends `cancelled`.
    /// The finished event waits in the outbox: call `deliver()` once the box has recorded the run too.
    func perform<Outcome: Sendable>(
        _ run: Run,
        work: (_ progress: @escaping @Sendable (RunProgress) async -> Void) async -> Outcome,
        finish: (inout Run, Outcome) -> Finish
    ) async throws -> (Run, Finish) {
        var run = run
        let started = run.startedAt ?? clock.now()
        run.status = .running
        run.startedAt = started
        try state.outbox.append(AgentEvent(id: ResourceID.make(.event), kind: .runStarted, occurredAt: started, run: run))
        async let announced: Void = deliver()
        let reporter = ProgressReporter(link: link)
        let running = run
        let outcome = await work { progress in await reporter.report(progress, run: running) }
        await reporter.drain()
        await announced

        let finished = clock.now()
        run.finishedAt = finished
        var record = finish(&run, outcome)
        if Task.isCancelled { run.status = .cancelled }
        if record.pruned?.isEmpty == true { record.pruned = nil }
        run.logExcerpt = log.excerpt
        try state.outbox.append(
            AgentEvent(
                id: ResourceID.make(.event), kind: .runFinished, occurredAt: finished, run: run,
                snapshot: record.snapshot, pruned: record.pruned))
        return (run, record)
    }

    /// Tries to deliver the outbox within the timeout.
    func deliver() async {
        await state.outbox.deliver(via: link, within: deliveryTimeout)
    }

    /// Runs whose process died are reported as interrupted, once, whoever finds them first (the
    /// daemon or the next run): their leftover processes are stopped, the snapshots they left are
    /// reported or forgotten (`LeftoverSnapshots`), and the run recorded. Runs whose process is
    /// alive but went past its stall limit and `stallMargin` without progress are ended and
    /// reported failed. Returns how many runs were recorded (the caller delivers them at once).
    ///
    /// One finder at a time on this box (a file lock): the daemon and a run starting at the same
    /// moment must not both reap a dead run, or the one that found the registry already emptied
    /// would start its backup while the other still waits for the dead run's restic to exit — and
    /// meet its repository lock.
    @discardableResult
    static func reportInterruptedRuns(_ state: AgentState, clock: any HubClock, stallMargin: TimeInterval = 300, log: (String) -> Void) async
        -> Int
    {
        do {
            return try await RepositoryLock.withLock(directory: state.locksDirectory, repository: "mzpanel:interrupted-runs") {
                await reportInterruptedRunsHoldingLock(state, clock: clock, stallMargin: stallMargin, log: log)
            }
        } catch {
            return await reportInterruptedRunsHoldingLock(state, clock: clock, stallMargin: stallMargin, log: log)
        }
    }

    private static func reportInterruptedRunsHoldingLock(
        _ state: AgentState, clock: any HubClock, stallMargin: TimeInterval, log: (String) -> Void
    ) async -> Int {
        var recorded = 0
        for entry in state.running.reapStalled(now: clock.now(), margin: stallMargin) {
            let stopped = await OrphanProcesses.stop(runID: entry.runID, grace: .seconds(5))
            let event = RunningRegistry.stalledEvent(for: entry, now: clock.now())
            if record(event, state: state, log: log) {
                recorded += 1
                log(
                    "run \(entry.runID) of job \(entry.jobID) made no progress past its limit; process \(entry.pid) and \(stopped) restic or dump process\(stopped == 1 ? "" : "es") were ended, reported as failed"
                )
            }
        }
        for entry in state.running.reapDead() {
            let stopped = await OrphanProcesses.stop(runID: entry.runID)
            if stopped > 0 { log("stopped \(stopped) leftover process\(stopped == 1 ? "" : "es") of run \(entry.runID)") }
            // The run recorded its own end before it died (only the registry was left): nothing to add.
            if state.history.load().contains(where: { $0.id == entry.runID && $0.status.isFinished }) { continue }
            let interrupted = RunningRegistry.interruptedEvent(for: entry, now: clock.now())
            let event = await LeftoverSnapshots(state: state).reconciled(interrupted, within: .seconds(180), log: log)
            if record(event, state: state, log: log) {
                recorded += 1
                log("run \(entry.runID) of job \(entry.jobID) was interrupted (process \(entry.pid) is gone); reported as interrupted")
            }
        }
        return recorded
    }

    private static func record(_ event: AgentEvent, state: AgentState, log: (String) -> Void) -> Bool {
        do {
            try state.outbox.append(event)
            try? state.history.record(event.run)
            return true
        } catch {
            log("could not record the end of run \(event.run.id): \(error)")
            return false
        }
    }
}
