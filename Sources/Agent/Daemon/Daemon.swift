import BackupCore
import Foundation
import LinkProtocol
import Logging

/// `mzpanel-agent daemon`: keeps the box in step with the hub. One loop talks to the hub (deliver
/// the outbox, long-poll commands, sync jobs when told and every five minutes, reconnect with backoff and
/// jitter); another looks after the box every few seconds (report interrupted runs, start queued
/// runs, and — without systemd — fire due slots with the same slot claims as the timers). Each
/// runs as a service of one `ServiceGroup` (`serviceGroup(logger:)`, Daemon+Services.swift).
public actor Daemon {
    public struct Options: Sendable {
        public var pollWaitSeconds = 25
        /// The hub sends a sync command whenever a server's job set changes (jobs, destinations,
        /// envelopes, peer reports, the account key, the server's cap): this periodic sync only
        /// catches a command that never came, so it can be slow (docs/architecture.md, "The agent link").
        public var jobSyncInterval: TimeInterval = 300
        public var tickInterval: TimeInterval = 5
        /// Fire slots from the daemon (no systemd, or --no-systemd).
        public var firesSlots: Bool
        /// On shutdown, how long runs started by this daemon may take to finish before they are asked to stop.
        public var shutdownGrace: Duration = .seconds(60)
        /// How long a run asked to stop (SIGTERM) gets before it is killed and reported interrupted.
        public var stopGrace: Duration = .seconds(15)
        /// How long past its stall limit a run process that stopped recording progress (stuck itself,
        /// its own watchdog did not act) lives before the daemon ends it and reports it failed.
        public var stallMargin: TimeInterval = 300
        /// How often the Docker stacks on the box are reported to the hub (also when the hub asks).
        public var stackReportInterval: TimeInterval = 600
        /// How long a new agent binary has to reach the hub before the previous one is put back.
        public var upgradeGrace: TimeInterval = 60

        public init(firesSlots: Bool) {
            self.firesSlots = firesSlots
        }
    }

    private let state: AgentState
    private let identity: AgentIdentity
    private let link: HubLink
    private let sync: JobSync
    private let options: Options
    private let children: ChildRuns
    private let peers: PeerSupervisor
    private let clock: any HubClock
    private let logger: Logger
    /// Listings and downloads for the hub's browser.
    let errands = Errands()
    private var lastSync = Date.distantPast
    private var syncRequested = true
    private var queued: [String: [AgentCommand]] = [:]
    private var firedSlots: [String: Date] = [:]
    private var takenRunIDs = Set<String>()
    /// Commands already taken (the hub offers a command until its ack arrives).
    private var takenCommandIDs = Set<String>()
    private var connected: Bool?
    private var lastStackReport = Date.distantPast
    private var stackReportRequested = true
    /// One outbox delivery at a time; a request meanwhile makes it go round once more.
    private var delivering = false
    private var deliverAgain = false
    private var upgrading = false
    private var upgradeConfirmed = false
    private var upgradeWaitLogged = false
    private let agentBinary: String

    public init(
        state: AgentState, settings: AgentSettings, options: Options, agentBinary: String = ProgramLocator.currentExecutable(),
        clock: any HubClock = SystemClock(), logger: Logger
    ) throws {
        self.state = state
        self.clock = clock
        self.logger = logger
        self.identity = try state.loadIdentity()
        self.link = try HubLink(
            hubURL: identity.hubURL, credential: try state.loadCredential(), trust: state.hubTrust, capabilities: { [state] in state.capabilities })
        self.sync = JobSync(state: state, settings: settings, agentBinary: agentBinary)
        self.options = options
        self.agentBinary = agentBinary
        self.children = ChildRuns(agentBinary: agentBinary, stateDirectory: state.directory, logger: logger)
        self.peers = PeerSupervisor(state: state, logger: logger)
    }

    /// Writes the timers of the stored jobs and serves stored peer destinations, before the hub is reached.
    func startUp() async {
        logger.info(
            "daemon started",
            metadata: [
                "agent.version": "\(AgentVersion.current)", "server.id": "\(identity.serverID)", "server.name": "\(identity.serverName)",
                "hub.url": "\(identity.hubURL)", "slots.fired_by": "\(options.firesSlots ? "daemon" : "systemd")",
            ])
        // Services a killed stack run left stopped are started again.
        if let docker = try? DockerCLI.located() {
            StoppedServices.repair(state: state, docker: docker) { logger.notice("stack repair", metadata: ["detail": "\($0)"]) }
        }
        if let jobs = try? state.loadJobs() {
            for warning in (try? sync.writeTimers(jobs.jobs.map(\.job))) ?? [] {
                logger.warning("timers not in line with the jobs", metadata: ["detail": "\(warning)"])
            }
            // Serve stored peer destinations even while the hub is unreachable.
            await peers.reconcile(jobs.peerStores ?? [], link: nil)
        }
    }

    /// The end of a graceful shutdown: runs started by this daemon may finish within
    /// `shutdownGrace`; then they are asked to stop (they record themselves as cancelled), and
    /// those still there after `stopGrace` are killed and reported interrupted. Peer servers stop last.
    func shutDown() async {
        let running = children.count
        if running > 0 {
            logger.notice("stopping: waiting for runs in progress to finish", metadata: ["runs": "\(running)", "grace": "\(options.shutdownGrace)"])
            if !(await children.waitUntilIdle(within: options.shutdownGrace)) {
                logger.notice("runs still in progress after the grace: asking them to stop", metadata: ["runs": "\(children.count)"])
                children.terminateAll()
                if !(await children.waitUntilIdle(within: options.stopGrace)) {
                    logger.warning("runs still in progress after being asked to stop: killing them", metadata: ["runs": "\(children.count)"])
                    children.killAll()
                    _ = await children.waitUntilIdle(within: .seconds(5))
                }
            }
        }
        await reportInterruptedRuns()
        await peers.stopAll()
        logger.info("daemon stopped")
    }

    // MARK: Hub

    func hubLoop() async {
        var backoff = Backoff()
        while !Task.isCancelled {
            do {
                try await deliverOutbox()
                if syncRequested || clock.now().timeIntervalSince(lastSync) >= options.jobSyncInterval {
                    try await syncJobs()
                    // Said as soon as the hub answered, not when the first poll (up to 25 s) ends.
                    markConnected(true, nil)
                }
                if stackReportRequested || clock.now().timeIntervalSince(lastStackReport) >= options.stackReportInterval { reportStacks() }
                let list = try await link.commands(wait: options.pollWaitSeconds)
                markConnected(true, nil)
                var allAcknowledged = true
                for command in list.commands where !(await handle(command)) { allAcknowledged = false }
                backoff.reset()
                // The hub keeps offering a command until its ack arrives: do not spin meanwhile.
                if !allAcknowledged { try await Task.sleep(for: .seconds(2)) }
            } catch {
                if Task.isCancelled { return }
                markConnected(false, error)
                let delay = (error as? HubLinkError)?.isUnauthorized == true ? backoff.cap : backoff.next()
                try? await Task.sleep(for: .milliseconds(Int(delay * 1000)))
            }
        }
    }

    /// Delivers the outbox: from the hub loop before each long poll, and from the box at once when
    /// it recorded the end of an interrupted or stalled run (the long poll may wait 25 s more).
    /// Deliveries never overlap: a request during one makes it go round again.
    private func deliverOutbox() async throws {
        if delivering {
            deliverAgain = true
            return
        }
        delivering = true
        defer { delivering = false }
        repeat {
            deliverAgain = false
            try await state.outbox.flush(link: link)
        } while deliverAgain
    }

    private func markConnected(_ now: Bool, _ error: (any Error)?) {
        defer { connected = now }
        if now && connected != true { logger.info("connected to the hub", metadata: ["hub.url": "\(identity.hubURL)"]) }
        if !now, let error, connected != false {
            logger.warning("hub unreachable; retrying with backoff (up to 60 s)", metadata: ["error": "\(error)"])
        }
    }

    private func syncJobs() async throws {
        let jobs = try await link.jobs()
        for warning in try sync.apply(jobs) { logger.warning("job sync", metadata: ["detail": "\(warning)"]) }
        await peers.reconcile(jobs.peerStores ?? [], link: link)
        lastSync = clock.now()
        syncRequested = false
        // The first sync is the first call that reached the hub: an upgrade that started this binary is complete.
        if !upgradeConfirmed {
            upgradeConfirmed = true
            AgentUpgrade(state: state, binary: agentBinary, logger: logger).confirm()
        }
    }

    /// Takes a command (once, however often it is offered) and acknowledges it; false when the ack failed.
    private func handle(_ command: AgentCommand) async -> Bool {
        if takenCommandIDs.count > 10_000 { takenCommandIDs.removeAll() }
        if takenCommandIDs.insert(command.id).inserted {
            await take(command)
        }
        do {
            try await link.ack(commandID: command.id)
            return true
        } catch {
            logger.warning(
                "could not acknowledge a command; it will come again and be recognized",
                metadata: ["command.id": "\(command.id)", "error": "\(error)"])
            return false
        }
    }

    private func take(_ command: AgentCommand) async {
        switch command.kind {
        case .syncJobs:
            syncRequested = true
        case .discoverStacks:
            stackReportRequested = true
        case .runNow:
            await queueRun(command)
        case .cancelRun:
            cancel(runID: command.runID)
        case .restore:
            await startRestore(command)
        case .listSnapshot:
            if let order = command.listing {
                let lister = SnapshotLister(state: state, link: link, logger: logger)
                errands.submit { await lister.run(order) }
            }
        case .download:
            if let order = command.download {
                let download = SnapshotDownload(state: state, link: link, logger: logger)
                errands.submit { await download.run(order) }
            }
        case .upgradeAgent:
            if let order = command.upgrade, !upgrading {
                upgrading = true
                errands.submit { await self.upgrade(order) }
            }
        }
    }

    /// Waits until no run is in progress (a backup is never interrupted by an upgrade), swaps the
    /// binary, starts the guard and stops; systemd or the guard starts the new binary.
    private func upgrade(_ order: UpgradeOrder) async {
        while !Task.isCancelled && (children.count > 0 || !state.running.alive().isEmpty) {
            if !upgradeWaitLogged {
                upgradeWaitLogged = true
                logger.notice("upgrade waits for the runs in progress to finish")
            }
            try? await Task.sleep(for: .seconds(2))
        }
        if Task.isCancelled { return }
        let upgrade = AgentUpgrade(state: state, binary: agentBinary, logger: logger)
        do {
            let pending = try await upgrade.install(order, link: link, grace: options.upgradeGrace)
            let underSystemd = ProcessInfo.processInfo.environment["INVOCATION_ID"] != nil && Systemd.isRunning
            let arguments = Array(CommandLine.arguments.dropFirst())
            do {
                try upgrade.startGuard(pending, stateDirectory: state.directory, daemonArguments: arguments, underSystemd: underSystemd)
            } catch {
                // Without a guard there is no one to start the new binary: put the previous one back.
                _ = rename(pending.previous, pending.binary)
                try? FileManager.default.removeItem(atPath: upgrade.pendingFile)
                throw error
            }
            kill(getpid(), SIGTERM)
        } catch {
            upgrading = false
            logger.error("agent upgrade failed", metadata: ["error": "\(error)"])
        }
    }

    /// Looks for Docker stacks beside the hub loop and reports them; a box without the docker
    /// client reports nothing (the hub shows no Stacks section for it).
    private func reportStacks() {
        stackReportRequested = false
        lastStackReport = clock.now()
        guard let docker = try? DockerCLI.located() else { return }
        let link = link
        let logger = logger
        errands.submit {
            let report: StackReport
            do {
                report = StackReport(stacks: try StackDiscovery(docker: docker).stacks())
            } catch {
                report = StackReport(stacks: [], error: "\(error)")
            }
            do {
                try await link.reportStacks(report)
            } catch {
                logger.warning("could not report the Docker stacks to the hub", metadata: ["error": "\(error)"])
            }
        }
    }

    private func startRestore(_ command: AgentCommand) async {
        guard let order = command.restore, SafeName.isSafe(order.run.id) else { return }
        // An order is carried out once: the hub sending it again (a retry, or a replay) changes nothing.
        guard takenRunIDs.insert(order.run.id).inserted, !state.history.load().contains(where: { $0.id == order.run.id }) else {
            logger.warning("ignored a restore order for a run this server already carried out", metadata: ["run.id": "\(order.run.id)"])
            return
        }
        do {
            try RestoreExecution.save(order, state: state)
            try children.startRestore(runID: order.run.id)
        } catch {
            logger.error("could not start a restore run", metadata: ["run.id": "\(order.run.id)", "error": "\(error)"])
        }
    }

    private func queueRun(_ command: AgentCommand) async {
        guard let jobID = command.jobID, SafeName.isSafe(jobID) else {
            logger.warning("ignored a run-now command without a valid job id", metadata: ["command.id": "\(command.id)"])
            return
        }
        if let runID = command.runID {
            let known =
                takenRunIDs.contains(runID) || state.running.entries().contains { $0.runID == runID }
                || state.history.load().contains { $0.id == runID }
            if known { return }
            takenRunIDs.insert(runID)
        }
        queued[jobID, default: []].append(command)
        await startQueued()
    }

    private func cancel(runID: String?) {
        guard let runID, let entry = state.running.alive().first(where: { $0.runID == runID }) else { return }
        logger.notice("cancelling a run as the hub asked", metadata: ["run.id": "\(runID)", "job.id": "\(entry.jobID)", "pid": "\(entry.pid)"])
        kill(entry.pid, SIGTERM)
    }

    // MARK: Box

    func boxLoop() async {
        while !Task.isCancelled {
            await reportInterruptedRuns()
            await startQueued()
            if options.firesSlots { await fireDueSlots(now: clock.now()) }
            await peers.restartDead()
            try? await Task.sleep(for: .milliseconds(Int(options.tickInterval * 1000)))
        }
    }

    private func isRunning(jobID: String) async -> Bool {
        if children.isRunning(jobID: jobID) { return true }
        return state.running.alive().contains { $0.jobID == jobID }
    }

    /// A person's run now is never held by the window: when every live run of the job is only
    /// waiting for its window, it starts beside them (the waiting run then waits for it to end).
    private func onlyWaitingForWindow(jobID: String) -> Bool {
        let live = state.running.alive().filter { $0.jobID == jobID }
        return !live.isEmpty && live.allSatisfy { state.running.isWaitingForWindow(runID: $0.runID) }
            && !children.isRunning(jobID: "now:" + jobID)
    }

    private func startQueued() async {
        for (jobID, commands) in queued {
            guard let command = commands.first else { continue }
            let beside = command.slot == nil && onlyWaitingForWindow(jobID: jobID)
            let busy = await isRunning(jobID: jobID)
            guard beside || !busy else { continue }
            // A job created a moment ago: wait for the job sync that is under way.
            if syncRequested, !((try? state.loadJobs())?.jobs.contains { $0.job.id == jobID } ?? false) { continue }
            // A copy to a destination added to the job a moment ago: wait for that sync too.
            if syncRequested, let copy = command.copy,
                !((try? state.loadJobs())?.jobs.contains { $0.job.id == jobID && $0.job.destinationIDs.contains(copy.to) } ?? false)
            {
                continue
            }
            queued[jobID] = commands.count > 1 ? Array(commands.dropFirst()) : nil
            // A copy run's destinations are checked by the run itself (ids the job names, SafeName).
            let copy = command.copy.flatMap { SafeName.isSafe($0.from) && SafeName.isSafe($0.to) ? $0 : nil }
            let trigger: RunTrigger = copy != nil ? .copy : command.slot == nil ? .manual : .hub
            do {
                try children.start(
                    jobID: jobID, trigger: trigger, runID: command.runID, slot: command.slot, besideWaiting: beside && copy == nil, copy: copy)
            } catch {
                logger.error("could not start a run", metadata: ["job.id": "\(jobID)", "error": "\(error)"])
            }
        }
    }

    /// Without systemd: start a run for each enabled job whose current slot has not run yet.
    /// Slots before the job existed are never fired (as a new systemd timer would not).
    func fireDueSlots(now: Date) async {
        guard let jobs = try? state.loadJobs() else { return }
        for job in jobs.jobs.map(\.job) where job.enabled && SafeName.isSafe(job.id) {
            guard let slot = SlotClaims.currentSlot(for: job.schedule, now: now), slot >= job.createdAt,
                firedSlots[job.id] != slot, !state.slots.isClaimed(jobID: job.id, slot: slot),
                !(await isRunning(jobID: job.id))
            else { continue }
            firedSlots[job.id] = slot
            do {
                try children.start(jobID: job.id, trigger: .timer, runID: nil, slot: slot)
            } catch {
                logger.error("could not start a run", metadata: ["job.id": "\(job.id)", "error": "\(error)"])
            }
        }
    }

    private func reportInterruptedRuns() async {
        let logger = logger
        let recorded = await RunSession.reportInterruptedRuns(state, clock: clock, stallMargin: options.stallMargin) { logger.warning("\($0)") }
        guard recorded > 0 else { return }
        do {
            try await deliverOutbox()
        } catch {
            logger.notice("the end of an interrupted run waits in the outbox; the hub is not reachable now", metadata: ["error": "\(error)"])
        }
    }
}
