import Foundation

/// How a shell command ended.
public struct ShellOutcome: Sendable, Equatable {
    public enum End: Sendable, Equatable {
        case exited(Int32)
        case signaled(Int32)
        /// Stopped after running longer than its timeout.
        case timedOut(seconds: Int)
        /// `/bin/sh` could not be started (the reason in words).
        case notStarted(String)
        /// The calling task was cancelled; the command was stopped.
        case cancelled
    }

    public var end: End
    public var durationSeconds: Double

    public var succeeded: Bool { end == .exited(0) }

    /// "exited with status 3", "was stopped after 300 s (its timeout)"…
    public var summary: String {
        switch end {
        case .exited(let status): "exited with status \(status)"
        case .signaled(let signal): "was killed by signal \(signal)"
        case .timedOut(let seconds): "was stopped after \(seconds) s (its timeout)"
        case .notStarted(let reason): "could not be started: \(reason)"
        case .cancelled: "was stopped (the run was stopped)"
        }
    }
}

/// Runs one command with `/bin/sh -c` (job hooks): an explicit environment (nothing of this
/// process's own), standard input from /dev/null, each line of standard output and error handed to
/// `onLine` as it comes, a timeout after which the command and its process group are stopped.
public enum ShellCommand {
    public static let shell = "/bin/sh"

    public static func run(
        _ command: String,
        environment extra: [String: String],
        workingDirectory: String = "/",
        timeout: Duration,
        onLine: @escaping @Sendable (_ line: String, _ isError: Bool) -> Void
    ) async -> ShellOutcome {
        let started = ContinuousClock.now
        func outcome(_ end: ShellOutcome.End) -> ShellOutcome {
            let elapsed = ContinuousClock.now - started
            return ShellOutcome(
                end: end, durationSeconds: Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
        }
        if Task.isCancelled { return outcome(.cancelled) }
        var environment = ExecutableLookup.baseEnvironment()
        environment.merge(extra) { _, new in new }
        let child = ChildProcess(executable: shell, arguments: ["-c", command], environment: environment)
        child.setCurrentDirectory(workingDirectory)
        let stdout = OutputReader(tailLimit: 4096, onLine: { onLine($0, false) })
        let stderr = OutputReader(tailLimit: 4096, onLine: { onLine($0, true) })
        child.setStandardOutput(stdout.pipe)
        child.setStandardError(stderr.pipe)
        let timedOut = TimeoutFlag()
        let termination: Termination?
        do {
            termination = try await withTaskCancellationHandler {
                guard try await child.start() else { return nil }
                stdout.start()
                stderr.start()
                let watchdog = Task {
                    try await Task.sleep(for: timeout)
                    timedOut.set()
                    child.stopGroup(grace: .seconds(3))
                }
                let ended = await child.waitForExit()
                watchdog.cancel()
                return ended
            } onCancel: {
                child.stopGroup(grace: .seconds(3))
            }
        } catch {
            return outcome(.notStarted(RunningCommand.reason(error)))
        }
        // A command that left a process in the background holding its output must not hold the
        // run: wait for the last lines a little, then go on.
        for _ in 0..<40 where !(stdout.isFinished && stderr.isFinished) {
            try? await Task.sleep(for: .milliseconds(50))
        }
        guard let termination else { return outcome(.cancelled) }
        if timedOut.isSet { return outcome(.timedOut(seconds: Int(timeout.components.seconds))) }
        if child.wasStopped { return outcome(.cancelled) }
        return outcome(termination.signaled ? .signaled(termination.status) : .exited(termination.status))
    }
}

private final class TimeoutFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    func set() { lock.withLock { value = true } }
    var isSet: Bool { lock.withLock { value } }
}
