import BackupCore
import Foundation
import HubAPI
import LinkProtocol

/// `mzpanel-agent run JOB`: one run of a job, working with the hub down. Claims the slot, records
/// the run in the outbox and in `running/`, lets the engine copy to each destination, records the
/// result and tries once to deliver the outbox.
public struct RunExecution: Sendable {
    public struct Request: Sendable, Equatable {
        public var jobID: String
        public var trigger: RunTrigger
        public var runID: String?
        public var slot: Date?
        /// A copy run (`trigger: copy`): which destinations of the job to copy between.
        public var copy: CopyPlan?

        public init(jobID: String, trigger: RunTrigger, runID: String? = nil, slot: Date? = nil, copy: CopyPlan? = nil) {
            self.copy = copy
            self.jobID = jobID
            self.trigger = trigger
            self.runID = runID
            self.slot = slot
        }
    }

    public enum Outcome: Sendable {
        /// Another trigger already ran this slot: nothing to do.
        case slotAlreadyRan(Date)
        /// A timer fired for a job that is now disabled.
        case skipped(String)
        case finished(Run, Snapshot?)
    }

    public var state: AgentState
    public var engine: any BackupEngine
    public var log: RunLog
    /// Seconds to try delivering the outbox at the start and end of the run (0 = do not try).
    public var deliveryTimeout: Double = 10
    /// How long the run may go without progress before its watchdog ends it; nil = the job's own
    /// limit (`RunWatchdog.limit(for:history:)`).
    public var stallLimit: Duration?
    public var clock: any HubClock

    public init(state: AgentState, engine: any BackupEngine, log: RunLog = RunLog(), clock: any HubClock = SystemClock()) {
        self.state = state
        self.engine = engine
        self.log = log
        self.clock = clock
    }

    public func execute(_ request: Request) async throws -> Outcome {
        let now = clock.now()
        let identity = try state.loadIdentity()
        guard let jobSet = try state.loadJobs() else {
            throw AgentError(
                "no jobs are known yet (no \(state.jobsFile)); start `mzpanel-agent daemon` (or wait for it) so it fetches them from the hub")
        }
        guard let agentJob = jobSet.jobs.first(where: { $0.job.id == request.jobID }) else {
            if let runID = request.runID { try reportUnknownJob(request, runID: runID, identity: identity, known: jobSet.jobs.count) }
            throw AgentError(
                "job \(request.jobID) is not one of this server's jobs (\(jobSet.jobs.count) known); check the id with `mzpanel-agent status`, or let the daemon sync the jobs if it was just created"
            )
        }
        let job = agentJob.job
        if request.trigger == .timer && !job.enabled {
            return .skipped("job \(job.name) (\(job.id)) is disabled; its timer will be removed at the next sync")
        }

        if let copy = request.copy {
            try SafeName.check(copy.from, what: "destination id")
            try SafeName.check(copy.to, what: "destination id")
        }
        var slot = request.slot?.wholeMilliseconds
        if slot == nil && request.trigger == .timer { slot = SlotClaims.currentSlot(for: job.schedule, now: now) }
        let runID = request.runID ?? ResourceID.make(.run)
        try SafeName.check(runID, what: "run id")
        // Scheduled slots start when the job's window and spread say; slots held outside the window
        // merge into the last of them (the hub's scheduler skips the same ones).
        let plan = job.startPlan
        let scheduled = slot != nil && request.trigger != .manual
        if let slot, scheduled, plan.isSuperseded(slot: slot, schedule: job.schedule) {
            return .skipped(
                "slot \(HubJSON.format(slot)) is outside the job's window and merges into a later slot that starts at the same time")
        }
        if let slot {
            guard try state.slots.claim(jobID: job.id, slot: slot, note: "run=\(runID)") else { return .slotAlreadyRan(slot) }
        }
        state.slots.prune(now: now)
        await RunSession.reportInterruptedRuns(state, clock: clock, log: log.callAsFunction)

        let lifecycle = RunSession(
            state: state,
            link: try? HubLink(
                hubURL: identity.hubURL, credential: state.loadCredential(), trust: state.hubTrust, timeout: deliveryTimeout,
                capabilities: { [state] in state.capabilities }),
            log: log, clock: clock, deliveryTimeout: deliveryTimeout)
        let started = clock.now()
        let run = Run(
            id: runID, accountID: identity.accountID, serverID: identity.serverID, jobID: job.id, trigger: request.trigger,
            slot: slot, status: .running, createdAt: started, startedAt: started,
            results: request.copy.map { [DestinationResult(destinationID: $0.to, status: .pending, copiedFrom: $0.from)] }
                ?? job.destinationIDs.map { DestinationResult(destinationID: $0, status: .pending) })
        let watchdog = RunWatchdog(
            limit: stallLimit ?? RunWatchdog.limit(for: job, trigger: request.trigger, history: state.history.load()), registry: state.running,
            runID: runID)
        try state.running.register(run, stallLimit: watchdog.limit)
        log.observe { watchdog.progressed() }
        log.annotate(jobID: job.id, runID: runID)
        log(
            "run \(runID) of job \(job.name) (\(job.id)) started, trigger \(request.trigger.rawValue)"
                + (slot.map { ", slot \(HubJSON.format($0))" } ?? ""))
        // Checked before anything reaches a destination or a ping URL: a job the account did not
        // sign runs nothing and fails with the reason (so the hub alerts like any failure).
        let refusal = ManifestTrust(state: state).refusal(for: agentJob, identity: identity)
        // A copy run reads the job's repositories only: no ping URL, no hook.
        let pings = refusal == nil && request.copy == nil ? JobPings(job: job, log: log) : nil
        let resultIDs = request.copy.map { [$0.to] } ?? job.destinationIDs

        let (finished, record) = try await lifecycle.perform(run) { progress in
            if let refusal {
                log("refused: \(refusal)")
                return EngineOutcome(
                    results: resultIDs.map { DestinationResult(destinationID: $0, status: .failed, error: "refused: \(refusal)") })
            }
            // Waiting comes after the trust check (the window and spread are signed with the job) and
            // before anything reaches a destination, a ping URL or a hook.
            let gate = RunGate(
                state: state, link: lifecycle.link, log: log, clock: clock, runID: runID, heartbeat: { watchdog.progressed() },
                progress: progress)
            let cancelledWhileWaiting = EngineOutcome(
                results: resultIDs.map { DestinationResult(destinationID: $0, status: .skipped, error: "cancelled while waiting") },
                status: .cancelled)
            if let slot, scheduled, !plan.isImmediate {
                guard await gate.waitUntil(plan.start(forSlot: slot), held: plan.isHeld(slot: slot), jobID: job.id) else {
                    return cancelledWhileWaiting
                }
            }
            // Concurrency caps: the server's (file locks on the box), then each capped destination's (from the hub).
            var serverSlot: ServerSlot?
            if let cap = jobSet.maxConcurrentRuns {
                serverSlot = await gate.serverSlot(cap: cap)
                if serverSlot == nil { return cancelledWhileWaiting }
            }
            guard let destinationSlots = await gate.destinationSlots(job: job, destinations: agentJob.destinations) else {
                return cancelledWhileWaiting
            }
            defer { withExtendedLifetime(serverSlot) {} }
            await pings?.started()
            // Hooks run only for a job that passed the trust check: their commands are signed with it.
            var hookedJob = job
            if request.copy != nil { hookedJob.hooks = nil }
            let hooks = JobHookRunner(job: hookedJob, runID: runID, log: log, heartbeat: { watchdog.progressed() })
            if let stopped = await hooks.before() {
                await hooks.afterRun(status: stopped.status ?? RunStatus.combining(stopped.results.map(\.status)))
                await destinationSlots.release()
                return stopped
            }
            var context = RunContext(job: agentJob, identity: identity, runID: runID, state: state, log: log) { step in
                watchdog.observe(step)
                await progress(step)
            }
            context.copy = request.copy
            let engineContext = context
            let outcome = await Self.watched(by: watchdog) { await engine.perform(engineContext) }
            if hooks.hooks != nil {
                let stalled = watchdog.reason != nil
                await hooks.afterRun(
                    status: Task.isCancelled ? .cancelled : stalled ? .failed : outcome.status ?? RunStatus.combining(outcome.results.map(\.status)))
            }
            await destinationSlots.release()
            return outcome
        } finish: { run, outcome in
            var outcome = outcome
            if let reason = watchdog.reason {
                log(reason)
                for index in outcome.results.indices where outcome.results[index].status != .succeeded {
                    outcome.results[index].status = .failed
                    outcome.results[index].error = reason
                }
            }
            run.results = outcome.results
            run.status = outcome.status ?? RunStatus.combining(outcome.results.map(\.status))
            run.filesNew = outcome.filesNew
            run.bytesAdded = outcome.bytesAdded
            run.bytesProcessed = outcome.bytesProcessed
            log(
                "run \(runID) \(Task.isCancelled ? RunStatus.cancelled.rawValue : run.status.rawValue) in \(Int((run.finishedAt ?? started).timeIntervalSince(started).rounded())) s"
            )
            let pruned = outcome.removedSnapshotIDs.sorted { $0.key < $1.key }.map {
                PrunedCopies(destinationID: $0.key, resticSnapshotIDs: $0.value)
            }
            return RunSession.Finish(
                snapshot: job.kind.isMaintenance || request.copy != nil || run.status == .cancelled ? nil : Self.snapshot(of: run, at: started),
                pruned: pruned)
        }
        try? state.history.record(finished)
        state.running.unregister(runID: runID)
        await pings?.finished(finished)
        await lifecycle.deliver()
        return .finished(finished, record.snapshot)
    }

    /// Runs the engine under the watchdog: when the run goes the limit without progress, the
    /// watchdog stops its processes and the engine is cancelled (the copies left are skipped).
    static func watched(by watchdog: RunWatchdog, _ work: @escaping @Sendable () async -> EngineOutcome) async -> EngineOutcome {
        await withTaskGroup(of: EngineOutcome?.self) { group in
            group.addTask { await work() }
            group.addTask {
                await watchdog.watch()
                return nil
            }
            var outcome = EngineOutcome(results: [])
            while let next = await group.next() {
                if let next {
                    outcome = next
                    group.cancelAll()  // the run ended: stop watching
                } else if watchdog.reason != nil {
                    group.cancelAll()  // the run stalled: stop the engine
                }
            }
            return outcome
        }
    }

    /// The hub created a run for a job this box does not know: end that run as failed (so it does
    /// not stay queued), saying why.
    func reportUnknownJob(_ request: Request, runID: String, identity: AgentIdentity, known: Int) throws {
        try SafeName.check(runID, what: "run id")
        let now = clock.now()
        let message =
            "job \(request.jobID) is not in this agent's job list (\(known) jobs known); the agent could not fetch it yet — check that `mzpanel-agent daemon` runs and reaches the hub, then run the job again"
        log(message)
        let run = Run(
            id: runID, accountID: identity.accountID, serverID: identity.serverID, jobID: request.jobID, trigger: request.trigger,
            slot: request.slot, status: .failed, createdAt: now, startedAt: now, finishedAt: now, logExcerpt: log.excerpt)
        try state.outbox.append(AgentEvent(id: ResourceID.make(.event), kind: .runFinished, occurredAt: now, run: run))
    }

    /// The snapshot of a run: one copy per destination that got its copy (nil when none did).
    static func snapshot(of run: Run, at date: Date) -> Snapshot? {
        let copies = run.results.filter { $0.status == .succeeded }.map {
            SnapshotCopy(
                destinationID: $0.destinationID, resticSnapshotIDs: $0.resticSnapshotIDs,
                bytesAdded: $0.bytesAdded, bytesTotal: $0.bytesProcessed)
        }
        guard !copies.isEmpty else { return nil }
        return Snapshot(
            id: ResourceID.make(.snapshot), accountID: run.accountID, serverID: run.serverID, jobID: run.jobID,
            runID: run.id, createdAt: date, copies: copies, stack: run.results.first { $0.stack != nil }?.stack)
    }
}
