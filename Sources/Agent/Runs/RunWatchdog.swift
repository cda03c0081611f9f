import BackupCore
import Foundation
import Synchronization

/// Ends a run that makes no progress: no restic counter moved and no step began for the job's
/// stall limit. The run's restic and dump processes are stopped, the rest of the run is skipped,
/// and the run is reported `failed` with the reason, so one stuck run never blocks its job.
/// The run process records when it last progressed in its `running/` entry; the daemon ends a
/// run process that stopped recording (stuck itself) after the limit and a margin
/// (`RunningRegistry.reapStalled`).
final class RunWatchdog: Sendable {
    let limit: Duration
    private struct State {
        var last = ContinuousClock.now
        var counters: [Double] = []
        var persisted = Date.distantPast
        var reason: String?
    }
    private let state = Mutex(State())
    private let registry: RunningRegistry
    private let runID: String

    init(limit: Duration, registry: RunningRegistry, runID: String) {
        self.limit = limit
        self.registry = registry
        self.runID = runID
    }

    /// How long a run of `job` may go without progress. Backups 30 minutes (restic waits up to 10
    /// minutes for another process's lock, and pruning a large repository prints nothing for
    /// long), repository checks and copies between destinations 2 hours (`restic copy` prints a
    /// line per snapshot, nothing while one snapshot's data moves); never less than the job's
    /// longest recent run on this box (a job that takes hours may be silent for long), and at most
    /// 12 hours.
    static func limit(for job: Job, trigger: RunTrigger = .timer, history: [Run]) -> Duration {
        let base: Double = job.kind.isMaintenance || trigger == .copy ? 7200 : 1800
        let longest =
            history.filter { $0.jobID == job.id && !$0.trigger.restores }.compactMap { run in
                run.finishedAt.map { $0.timeIntervalSince(run.startedAt ?? run.createdAt) }
            }.max() ?? 0
        return .seconds(Int(min(max(base, longest), 12 * 3600)))
    }

    /// restic reported progress: it counts when a counter moved (restic repeats its status line
    /// every second even while it waits on a source that never answers).
    func observe(_ progress: RunProgress) {
        let counters = [
            progress.percentDone, Double(progress.filesDone), Double(progress.totalFiles), Double(progress.bytesDone),
            Double(progress.totalBytes),
        ]
        let moved = state.withLock { state in
            guard state.counters != counters else { return false }
            state.counters = counters
            return true
        }
        if moved { progressed() }
    }

    /// A step of the run began (each line of the run's log is one).
    func progressed() {
        let now = Date()
        let persist = state.withLock { state in
            state.last = .now
            guard now.timeIntervalSince(state.persisted) >= 5 else { return false }
            state.persisted = now
            return true
        }
        if persist { registry.recordProgress(runID: runID, at: now) }
    }

    /// Why the watchdog ended the run; nil while it has not.
    var reason: String? { state.withLock { $0.reason } }

    /// Returns once the run has gone `limit` without progress (after stopping its processes), or
    /// when cancelled (the run ended by itself).
    func watch() async {
        let tick = min(limit / 4, .seconds(5))
        while !Task.isCancelled {
            try? await Task.sleep(for: tick)
            let silent = state.withLock { ContinuousClock.now - $0.last }
            guard silent >= limit, !Task.isCancelled else { continue }
            let minutes = Self.words(limit)
            state.withLock {
                $0.reason =
                    "the run made no progress for \(minutes) (this job's limit) and was stopped: restic or a dump waited on something that never answered (a hung network mount, a stopped process, a locked database); the next run starts afresh"
            }
            await OrphanProcesses.stop(runID: runID, grace: .seconds(5))
            return
        }
    }

    static func words(_ duration: Duration) -> String {
        let seconds = Int(duration.components.seconds)
        if seconds % 60 == 0 && seconds >= 60 { return "\(seconds / 60) minute\(seconds == 60 ? "" : "s")" }
        return "\(seconds) second\(seconds == 1 ? "" : "s")"
    }
}
