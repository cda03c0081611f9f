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
    }

    public let directory: String

    public init(directory: String) {
        self.directory = directory
    }

    public func register(_ run: Run, pid: Int32 = getpid()) throws {
        try SafeName.check(run.id, what: "run id")
        try SecureFile.makeDirectory(directory)
        let entry = Entry(
            runID: run.id, jobID: run.jobID, pid: pid, processStartTicks: ProcessLiveness.startTicks(of: pid),
            startedAt: run.startedAt ?? Date(), run: run)
        try SecureFile.write(try HubJSON.encoder().encode(entry), to: path(run.id), mode: 0o600)
    }

    public func unregister(runID: String) {
        guard SafeName.isSafe(runID) else { return }
        SecureFile.remove(path(runID))
    }

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
