import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Processes a killed run left behind. restic and dump tools run in their own process group, so
/// `kill -9` of a run does not stop them; each gets `MZPANEL_RUN_ID=<run>` in its environment,
/// and when the run is found dead they are found by that marker in /proc and stopped (SIGINT
/// first, so restic removes its lock; SIGKILL after the grace period).
public enum OrphanProcesses {
    public static let marker = "MZPANEL_RUN_ID"

    /// Process ids whose environment carries `MZPANEL_RUN_ID=<runID>`.
    public static func find(runID: String) -> [Int32] {
        let entry = Array("\(marker)=\(runID)".utf8)
        let own = getpid()
        return SecureFile.list("/proc").compactMap { Int32($0) }.filter { pid in
            guard pid != own, let environ = FileManager.default.contents(atPath: "/proc/\(pid)/environ") else { return false }
            return environ.split(separator: 0).contains { $0.elementsEqual(entry) }
        }
    }

    /// Stops the leftovers of `runID`; returns how many were found.
    @discardableResult
    public static func stop(runID: String, grace: Duration = .seconds(10)) async -> Int {
        let pids = find(runID: runID)
        guard !pids.isEmpty else { return 0 }
        for pid in pids {
            kill(pid, SIGINT)
            kill(pid, SIGCONT)  // a stopped process handles its SIGINT only once it runs again
        }
        let deadline = ContinuousClock.now + grace
        while ContinuousClock.now < deadline {
            if pids.allSatisfy({ !ProcessLiveness.isAlive(pid: $0, startTicks: nil) }) {
                await waitUntilGone(pids)
                return pids.count
            }
            try? await Task.sleep(for: .milliseconds(200))
        }
        for pid in pids where ProcessLiveness.isAlive(pid: pid, startTicks: nil) { kill(pid, SIGKILL) }
        await waitUntilGone(pids)
        return pids.count
    }

    /// Waits (up to 5 s) until the processes are gone from the process table, not only dead: restic
    /// treats the lock of a process that still has an entry (a zombie its new parent has not reaped
    /// yet) as live, so `restic unlock` would keep it and the next backup would find the repository locked.
    static func waitUntilGone(_ pids: [Int32]) async {
        let deadline = ContinuousClock.now + .seconds(5)
        while ContinuousClock.now < deadline && pids.contains(where: { kill($0, 0) == 0 || errno != ESRCH }) {
            try? await Task.sleep(for: .milliseconds(50))
        }
    }
}
