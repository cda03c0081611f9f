import BackupCore
import Foundation
import LinkProtocol

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
    /// daemon or the next run): their leftover processes are stopped and the run recorded.
    static func reportInterruptedRuns(_ state: AgentState, clock: any HubClock, log: (String) -> Void) async {
        for entry in state.running.reapDead() {
            let stopped = await OrphanProcesses.stop(runID: entry.runID)
            if stopped > 0 { log("stopped \(stopped) leftover process\(stopped == 1 ? "" : "es") of run \(entry.runID)") }
            let event = RunningRegistry.interruptedEvent(for: entry, now: clock.now())
            do {
                try state.outbox.append(event)
                try? state.history.record(event.run)
                log("run \(entry.runID) of job \(entry.jobID) was interrupted (process \(entry.pid) is gone); reported as interrupted")
            } catch {
                log("could not record the interrupted run \(entry.runID): \(error)")
            }
        }
    }
}
