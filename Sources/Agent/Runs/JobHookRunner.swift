import BackupCore
import Foundation
import ResticKit

/// Runs a job's hooks (``JobHooks``) on this box: `/bin/sh -c COMMAND` in `/`, with PATH and HOME
/// and the run's ids only (no credential, no repository password: the hub's link and restic's
/// secrets are never in a hook's environment), each output line in the run's log (the log
/// redacts), stopped with its process group after the job's hook timeout.
struct JobHookRunner: Sendable {
    let job: Job
    let runID: String
    let log: RunLog
    /// Called every 30 s while a hook runs: a hook quiet for longer than the run's stall limit
    /// (it has its own timeout) is not a stuck run, so the daemon must not end it.
    var heartbeat: @Sendable () -> Void = {}
    /// Lines of one hook's output kept in the log; the rest are counted.
    static let maxLoggedLines = 200

    var hooks: JobHooks? { job.hooks }

    /// Runs the `before` hook. Returns nil when the backup may go on (no hook, it succeeded, or
    /// it failed with policy `ignore`); otherwise the run's outcome without a backup: every copy
    /// skipped and the run `cancelled` (policy `cancel`), or every copy failed (policy `fail`).
    func before() async -> EngineOutcome? {
        guard let hooks, let command = hooks.before else { return nil }
        let outcome = await run("before", command, status: nil)
        if outcome.succeeded { return nil }
        let reason = "the before hook \(outcome.summary)"
        switch hooks.policy {
        case .ignore:
            log("\(reason); policy ignore: backing up anyway")
            return nil
        case .cancel:
            log("\(reason); policy cancel: no backup, the run is cancelled")
            return EngineOutcome(
                results: job.destinationIDs.map {
                    DestinationResult(destinationID: $0, status: .skipped, error: "\(reason) (policy cancel): no backup was made")
                }, status: .cancelled)
        case .fail:
            log("\(reason); policy fail: no backup, the run fails")
            return EngineOutcome(
                results: job.destinationIDs.map {
                    DestinationResult(
                        destinationID: $0, status: .failed,
                        error: "\(reason) (policy fail): no backup was made — fix the hook, or choose policy cancel or ignore")
                })
        }
    }

    /// After the backup: `after` when the run succeeded, `onFailure` when it failed or was
    /// partial, then `finally` always. Their failures are logged; they do not change the run.
    func afterRun(status: RunStatus) async {
        guard let hooks else { return }
        if status == .succeeded, let command = hooks.after {
            await runLogged("after", command, status: status)
        }
        if status == .failed || status == .partial || status == .interrupted, let command = hooks.onFailure {
            await runLogged("onFailure", command, status: status)
        }
        if let command = hooks.finally {
            await runLogged("finally", command, status: status)
        }
    }

    private func runLogged(_ name: String, _ command: String, status: RunStatus) async {
        let outcome = await run(name, command, status: status)
        if !outcome.succeeded { log("the \(name) hook \(outcome.summary); the run's status stays \(status.rawValue)") }
    }

    private func run(_ name: String, _ command: String, status: RunStatus?) async -> ShellOutcome {
        let timeout = hooks?.timeout ?? JobHooks.defaultTimeout
        log("hook \(name): running /bin/sh -c … (timeout \(timeout) s)")
        var environment = [
            "MZPANEL_JOB_ID": job.id, "MZPANEL_JOB_NAME": job.name, "MZPANEL_HOOK": name,
            // The marker also lets the daemon stop what a hook left behind when the run dies.
            OrphanProcesses.marker: runID,
        ]
        if let status { environment["MZPANEL_RUN_STATUS"] = status.rawValue }
        let counter = LineCounter(limit: Self.maxLoggedLines)
        let log = self.log
        let heartbeat = self.heartbeat
        let beating = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(30))
                heartbeat()
            }
        }
        let outcome = await ShellCommand.run(command, environment: environment, timeout: .seconds(timeout)) { line, isError in
            guard counter.take() else { return }
            log("hook \(name)\(isError ? " (stderr)" : ""): \(line)")
        }
        beating.cancel()
        if counter.dropped > 0 { log("hook \(name): \(counter.dropped) more output lines not kept") }
        log("hook \(name) \(outcome.summary) in \(String(format: "%.1f", outcome.durationSeconds)) s")
        return outcome
    }
}

/// Counts a hook's output lines, letting the first `limit` through.
private final class LineCounter: @unchecked Sendable {
    private let lock = NSLock()
    private let limit: Int
    private var seen = 0

    init(limit: Int) { self.limit = limit }

    func take() -> Bool {
        lock.withLock {
            seen += 1
            return seen <= limit
        }
    }

    var dropped: Int { lock.withLock { max(0, seen - limit) } }
}
