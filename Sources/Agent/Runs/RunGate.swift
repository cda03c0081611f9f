import BackupCore
import Foundation
import HubAPI
import LinkProtocol

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// What a run waits for before its work (docs/schedules.md, "Windows, spread and concurrency"):
/// its start time (a scheduled slot shifted by the job's window and spread), a slot under the
/// server's cap (file locks on the box), and a slot at each capped destination (claimed from the
/// hub, renewed while the run goes on). While it waits the run reports `waiting for window` or
/// `waiting for slot` with its position, and keeps its watchdog fed.
struct RunGate: Sendable {
    let state: AgentState
    let link: HubLink?
    let log: RunLog
    let clock: any HubClock
    let runID: String
    let heartbeat: @Sendable () -> Void
    let progress: @Sendable (RunProgress) async -> Void
    /// How long a run waits for a hub it cannot reach before it goes ahead without a destination
    /// slot (a backup is never lost because the hub is down). `MZPANEL_AGENT_SLOT_HUB_WAIT` (seconds) overrides it.
    var hubWaitLimit: TimeInterval = RunGate.defaultHubWait
    /// How often a waiting run asks again.
    var poll: TimeInterval = RunGate.defaultPoll

    static var defaultHubWait: TimeInterval {
        ProcessInfo.processInfo.environment["MZPANEL_AGENT_SLOT_HUB_WAIT"].flatMap(TimeInterval.init) ?? 300
    }
    static var defaultPoll: TimeInterval {
        ProcessInfo.processInfo.environment["MZPANEL_AGENT_SLOT_POLL"].flatMap(TimeInterval.init) ?? 5
    }

    /// Sleeps until `start`, reporting `waiting for window`, then lets a person's run now of the
    /// same job that started meanwhile finish first. False when cancelled.
    func waitUntil(_ start: Date, held: Bool, jobID: String? = nil) async -> Bool {
        guard start > clock.now() else { return true }
        state.running.setWaitingForWindow(runID: runID, true)
        defer { state.running.setWaitingForWindow(runID: runID, false) }
        guard await sleepUntil(start, held: held) else { return false }
        guard let jobID else { return true }
        var announced = false
        while state.running.alive().contains(where: { $0.jobID == jobID && $0.runID != runID }) {
            if !announced {
                announced = true
                log("waiting for the job's other run (a run now) to finish first")
            }
            heartbeat()
            do { try await Task.sleep(for: .seconds(poll)) } catch { return false }
        }
        return true
    }

    private func sleepUntil(_ start: Date, held: Bool) async -> Bool {
        log(
            held
                ? "waiting for window: the job's window opens; the run starts at \(HubJSON.format(start))"
                : "waiting for the job's spread: the run starts at \(HubJSON.format(start))")
        // Reported again on each wake-up: progress is best effort (dropped while the hub is away).
        while clock.now() < start {
            await progress(RunWait(reason: .window, until: start).progress)
            heartbeat()
            let remaining = start.timeIntervalSince(clock.now())
            do { try await Task.sleep(for: .seconds(min(max(remaining, 0.05), 10))) } catch { return false }
        }
        return true
    }

    // MARK: The server's cap

    /// Takes one of `cap` lock files (`locks/server-slot-N`), waiting in line by the time of asking.
    /// The kernel frees a slot when its run's process dies. Nil when cancelled.
    func serverSlot(cap: Int) async -> ServerSlot? {
        let directory = state.locksDirectory + "/server-slots"
        try? SecureFile.makeDirectory(directory)
        let ticket = directory + "/wait-\(String(format: "%015lld", clock.now().millisecondsSince1970))-\(runID)-\(getpid())"
        _ = try? SecureFile.createExclusive(ticket, contents: Data(), mode: 0o600)
        defer { SecureFile.remove(ticket) }
        var announced = 0
        while !Task.isCancelled {
            let position = Self.position(of: ticket, in: directory)
            if position <= cap {
                for index in 0..<cap {
                    if let slot = ServerSlot.take(directory + "/slot-\(index)") { return slot }
                }
            }
            if announced != position {
                announced = position
                log("waiting for slot: this server runs at most \(cap) run\(cap == 1 ? "" : "s") at once; position \(position)")
            }
            await progress(RunWait(reason: .slot, position: position).progress)
            heartbeat()
            do { try await Task.sleep(for: .seconds(min(poll, 2))) } catch { return nil }
        }
        return nil
    }

    /// 1 + the number of live waiters that asked earlier.
    static func position(of ticket: String, in directory: String) -> Int {
        let mine = (ticket as NSString).lastPathComponent
        var ahead = 0
        for name in SecureFile.list(directory) where name.hasPrefix("wait-") && name < mine {
            let pid = name.split(separator: "-").last.flatMap { Int32($0) } ?? 0
            if pid > 0 && kill(pid, 0) != 0 && errno == ESRCH {
                SecureFile.remove(directory + "/" + name)  // a waiter that died
                continue
            }
            ahead += 1
        }
        return ahead + 1
    }

    // MARK: Destination caps

    /// Claims a slot at each capped destination of the job, one after another in id order (so
    /// two runs never hold one each of the other's), and keeps them renewed until `release()`.
    /// Without a hub it waits at most `hubWaitLimit`, then goes ahead (logged). Nil when cancelled.
    func destinationSlots(job: Job, destinations: [Destination]) async -> DestinationHold? {
        let capped = destinations.filter { $0.maxConcurrentRuns != nil && job.destinationIDs.contains($0.id) }.sorted { $0.id < $1.id }
        let hold = DestinationHold(link: link, jobID: job.id, runID: runID, log: log)
        for destination in capped {
            guard await claim(destination, job: job) else {
                await hold.release()
                return nil
            }
            hold.add(destination.id)
        }
        hold.startRenewing(every: DestinationHold.renewal)
        return hold
    }

    /// True when the slot is the run's (or the hub stayed unreachable past the limit); false when cancelled.
    private func claim(_ destination: Destination, job: Job) async -> Bool {
        let request = SlotRequest(destinationID: destination.id, jobID: job.id, runID: runID)
        guard let link else {
            log("no hub link: going ahead without a slot at \(destination.name) (\(destination.id))")
            return true
        }
        var unreachableSince: Date?
        var announced = -1
        while !Task.isCancelled {
            do {
                let answer = try await link.destinationSlot(request)
                unreachableSince = nil
                if answer.granted {
                    if announced >= 0 { log("slot at \(destination.name) (\(destination.id)) granted; starting") }
                    return true
                }
                if answer.position != announced {
                    announced = answer.position
                    log(
                        "waiting for slot: \(destination.name) (\(destination.id)) takes at most \(answer.limit ?? 0) run\(answer.limit == 1 ? "" : "s") at once; position \(answer.position)"
                    )
                }
                await progress(RunWait(reason: .slot, position: answer.position, destinationID: destination.id).progress)
            } catch let error as HubLinkError {
                if !error.isTransient {
                    log("the hub refused a slot at \(destination.id) (\(error)); going ahead without one")
                    return true
                }
                let since = unreachableSince ?? clock.now()
                unreachableSince = since
                if clock.now().timeIntervalSince(since) >= hubWaitLimit {
                    log(
                        "the hub stayed unreachable for \(Int(hubWaitLimit)) s while asking for a slot at \(destination.name) (\(destination.id)): going ahead without one (\(error))"
                    )
                    return true
                }
                if announced != 0 {
                    announced = 0
                    log("waiting for slot at \(destination.id): the hub is unreachable (\(error)); going ahead after \(Int(hubWaitLimit)) s at most")
                    await progress(RunWait(reason: .slot, destinationID: destination.id).progress)
                }
            } catch {
                if Task.isCancelled { return false }
                log("asking for a slot at \(destination.id) failed (\(error)); going ahead without one")
                return true
            }
            heartbeat()
            do { try await Task.sleep(for: .seconds(poll)) } catch { return false }
        }
        return false
    }
}

/// A held slot under the server's cap: an open file descriptor with an exclusive `flock`.
final class ServerSlot: Sendable {
    let descriptor: Int32

    private init(descriptor: Int32) { self.descriptor = descriptor }

    static func take(_ path: String) -> ServerSlot? {
        let fd = open(path, O_CREAT | O_RDWR | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return nil }
        if flock(fd, LOCK_EX | LOCK_NB) == 0 { return ServerSlot(descriptor: fd) }
        close(fd)
        return nil
    }

    deinit {
        flock(descriptor, LOCK_UN)
        close(descriptor)
    }
}

/// The destination slots a run holds, renewed in the background until released.
final class DestinationHold: @unchecked Sendable {
    /// How often held slots are renewed (the hub frees them 90 s after the last renewal).
    static var renewal: TimeInterval {
        ProcessInfo.processInfo.environment["MZPANEL_AGENT_SLOT_RENEW"].flatMap(TimeInterval.init) ?? 20
    }

    let link: HubLink?
    let jobID: String
    let runID: String
    let log: RunLog
    private let lock = NSLock()
    private var held: [String] = []
    private var renewing: Task<Void, Never>?

    init(link: HubLink?, jobID: String, runID: String, log: RunLog) {
        self.link = link
        self.jobID = jobID
        self.runID = runID
        self.log = log
    }

    var destinations: [String] { lock.withLock { held } }

    func add(_ destinationID: String) { lock.withLock { held.append(destinationID) } }

    func startRenewing(every interval: TimeInterval) {
        guard let link, !destinations.isEmpty else { return }
        let ids = destinations
        let (jobID, runID) = (self.jobID, self.runID)
        let task = Task {
            while !Task.isCancelled {
                do { try await Task.sleep(for: .seconds(interval)) } catch { return }
                for id in ids { _ = try? await link.destinationSlot(SlotRequest(destinationID: id, jobID: jobID, runID: runID)) }
            }
        }
        lock.withLock { renewing = task }
    }

    /// Frees the slots (the run ended).
    func release() async {
        let (task, ids) = lock.withLock { () -> (Task<Void, Never>?, [String]) in
            defer {
                renewing = nil
                held = []
            }
            return (renewing, held)
        }
        task?.cancel()
        guard let link else { return }
        for id in ids {
            do {
                _ = try await link.destinationSlot(SlotRequest(destinationID: id, jobID: jobID, runID: runID, release: true))
            } catch {
                log("could not free the slot at \(id) (\(error)); the hub frees it when it expires")
            }
        }
    }
}
