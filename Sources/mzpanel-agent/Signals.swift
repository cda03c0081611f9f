import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The last termination signal received (0 = none). Set from the signal handler: an atomic
/// store is async-signal-safe.
private let receivedSignal = Atomic<Int32>(0)

/// SIGTERM and SIGINT cancel the work: the daemon stops its loops, a run stops restic (which
/// removes its lock) and records itself as cancelled.
///
/// A plain handler (not SIG_IGN plus a dispatch source) is used on purpose: ignored signals and
/// blocked masks are inherited by child processes (restic, pg_dump, runs started by the daemon),
/// caught ones are reset to the default at exec.
enum Signals {
    /// Undoes what a parent may have passed down (blocked or ignored termination signals), so
    /// `systemctl stop` and `kill` reach this process and its children.
    static func resetInherited() {
        var set = sigset_t()
        sigemptyset(&set)
        for number in [SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGCHLD] {
            sigaddset(&set, number)
            signal(number, SIG_DFL)
        }
        pthread_sigmask(SIG_UNBLOCK, &set, nil)
    }

    /// Runs `body` until it ends or a termination signal cancels it (one run: restic is stopped and
    /// the run records itself as cancelled). The daemon uses its service group's signal handling instead.
    static func runUntilTerminated<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) async throws -> T {
        for number in [SIGTERM, SIGINT] {
            signal(number) { caught in receivedSignal.store(caught, ordering: .relaxed) }
        }
        let task = Task { try await body() }
        let watcher = Task {
            while !Task.isCancelled {
                if receivedSignal.load(ordering: .relaxed) != 0 {
                    task.cancel()
                    return
                }
                try? await Task.sleep(for: .milliseconds(200))
            }
        }
        defer { watcher.cancel() }
        return try await task.value
    }
}
