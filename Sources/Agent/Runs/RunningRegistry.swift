import BackupCore
import Foundation
import HubAPI
import LinkProtocol

/// Runs in progress on the box: `running/<run id>.json` with the run, its process id and start.
/// An entry whose process is dead is a run that was killed (kill -9, power loss): it is reported
/// as `interrupted`, never left `running`.
public struct RunningRegistry: Sendable {
    public struct Entry: Codable, Sendable, Equatable {
        public var runID: String
        public var jobID: String
        public var pid: Int32
        public var processStartTicks: UInt64?
        public var startedAt: Date
        public var run: Run
        /// When the run last made progress (its watchdog records it every few seconds at most).
        public var lastProgressAt: Date?
        /// The run's stall limit (`RunWatchdog.limit`); nil for runs without a watchdog (restores).
        public var stallLimitSeconds: Int?

        /// Whether the run's process went longer than its stall limit and `margin` without progress.
        func isStalled(now: Date, margin: TimeInterval) -> Bool {
            guard let stallLimitSeconds else { return false }
            return now.timeIntervalSince(lastProgressAt ?? startedAt) > TimeInterval(stallLimitSeconds) + margin
        }
    }

    public let directory: String

    public init(directory: String) {
        self.directory = directory
    }

    public func register(_ run: Run, pid: Int32 = getpid(), stallLimit: Duration? = nil) throws {
        try SafeName.check(run.id, what: "run id")
        try SecureFile.makeDirectory(directory)
        let entry = Entry(
            runID: run.id, jobID: run.jobID, pid: pid, processStartTicks: ProcessLiveness.startTicks(of: pid),
            startedAt: run.startedAt ?? Date(), run: run, stallLimitSeconds: stallLimit.map { Int($0.components.seconds) })
        try SecureFile.write(try HubJSON.encoder().encode(entry), to: path(run.id), mode: 0o600)
    }

    /// Records that a run progressed (kept only while the run is registered).
    func recordProgress(runID: String, at date: Date) {
        guard SafeName.isSafe(runID), let data = try? SecureFile.read(path(runID)),
            var entry = try? HubJSON.decoder().decode(Entry.self, from: data)
        else { return }
        entry.lastProgressAt = date
        guard let encoded = try? HubJSON.encoder().encode(entry), FileManager.default.fileExists(atPath: path(runID)) else { return }
        try? SecureFile.write(encoded, to: path(runID), mode: 0o600)
    }

    public func unregister(runID: String) {
        guard SafeName.isSafe(runID) else { return }
        SecureFile.remove(path(runID))
        SecureFile.remove(waitingPath(runID))
    }

    /// Marks a run as waiting for its window (`<run>.waiting`): the daemon may start a person's
    /// run now of the same job beside it (run now is never held by the window).
    public func setWaitingForWindow(runID: String, _ waiting: Bool) {
        guard SafeName.isSafe(runID) else { return }
        if waiting {
            _ = try? SecureFile.createExclusive(waitingPath(runID))
        } else {
            SecureFile.remove(waitingPath(runID))
        }
    }

    public func isWaitingForWindow(runID: String) -> Bool {
        SafeName.isSafe(runID) && FileManager.default.fileExists(atPath: waitingPath(runID))
    }

    func waitingPath(_ runID: String) -> String { directory + "/" + runID + ".waiting" }

    public func entries() -> [Entry] {
        let decoder = HubJSON.decoder()
        return SecureFile.list(directory).filter { $0.hasSuffix(".json") && !$0.hasPrefix(".") }.compactMap { name in
            guard let data = try? SecureFile.read(directory + "/" + name) else { return nil }
            return try? decoder.decode(Entry.self, from: data)
        }.sorted { $0.startedAt < $1.startedAt }
    }

    /// Entries whose process still runs.
    public func alive() -> [Entry] {
        entries().filter { ProcessLiveness.isAlive(pid: $0.pid, startTicks: $0.processStartTicks) }
    }

    /// Takes the entries of dead processes out of the registry and returns them. Each entry is
    /// taken by exactly one caller (atomic rename), so two reapers never report a run twice.
    public func reapDead() -> [Entry] {
        var reaped: [Entry] = []
        for entry in entries() where !ProcessLiveness.isAlive(pid: entry.pid, startTicks: entry.processStartTicks) {
            let taken = path(entry.runID) + ".reaped-\(getpid())"
            guard rename(path(entry.runID), taken) == 0 else { continue }
            reaped.append(entry)
            SecureFile.remove(taken)
        }
        return reaped
    }

    /// Takes the entries of live run processes that went past their stall limit and `margin`
    /// without progress (the run process is stuck itself: its own watchdog did not end it), kills
    /// those processes and returns the entries. Each is taken once, as in `reapDead`.
    public func reapStalled(now: Date = Date(), margin: TimeInterval) -> [Entry] {
        var reaped: [Entry] = []
        for entry in entries() where entry.isStalled(now: now, margin: margin) && entry.pid != getpid() {
            let taken = path(entry.runID) + ".stalled-\(getpid())"
            guard rename(path(entry.runID), taken) == 0 else { continue }
            if ProcessLiveness.isAlive(pid: entry.pid, startTicks: entry.processStartTicks) { kill(entry.pid, SIGKILL) }
            reaped.append(entry)
            SecureFile.remove(taken)
        }
        return reaped
    }

    /// The `runFinished` event of a run the daemon ended because it made no progress: `failed`, saying why.
    public static func stalledEvent(for entry: Entry, now: Date = Date()) -> AgentEvent {
        let limit = entry.stallLimitSeconds.map { RunWatchdog.words(.seconds($0)) } ?? "its limit"
        let reason =
            "the run made no progress for \(limit) (this job's limit) and its process did not stop by itself; the daemon ended it (process \(entry.pid)) so the job can run again"
        var run = entry.run
        run.status = .failed
        run.finishedAt = now.wholeMilliseconds
        run.results = run.results.map { result in
            var copy = result
            if copy.status == .running || copy.status == .pending {
                copy.status = .failed
                copy.error = reason
            }
            return copy
        }
        run.logExcerpt = [run.logExcerpt, reason].compactMap { $0 }.joined(separator: "\n")
        return AgentEvent(id: ResourceID.make(.event), kind: .runFinished, occurredAt: now.wholeMilliseconds, run: run)
    }

    /// The `runFinished` event of an interrupted run.
    public static func interruptedEvent(for entry: Entry, now: Date = Date()) -> AgentEvent {
        var run = entry.run
        run.status = .interrupted
        run.finishedAt = now.wholeMilliseconds
        run.results = run.results.map { result in
            var copy = result
            if copy.status == .running || copy.status == .pending {
                copy.status = .failed
                copy.error = "the run was interrupted (the agent process ended before this copy finished); the next run will make a new copy"
            }
            return copy
        }
        let note = "run interrupted: process \(entry.pid) ended without finishing (killed or the machine restarted)"
        run.logExcerpt = [run.logExcerpt, note].compactMap { $0 }.joined(separator: "\n")
        return AgentEvent(id: ResourceID.make(.event), kind: .runFinished, occurredAt: now.wholeMilliseconds, run: run)
    }

    func path(_ runID: String) -> String { directory + "/" + runID + ".json" }
}
