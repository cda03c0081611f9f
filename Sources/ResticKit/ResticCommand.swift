import Foundation
import Redaction

/// One restic (or producer) process with its output readers.
final class RunningCommand: @unchecked Sendable {
    let child: ChildProcess
    let stdout: OutputReader
    let stderr: OutputReader
    let executable: String

    init(executable: String, arguments: [String], environment: [String: String], stdout: OutputReader?, stderr: OutputReader) {
        self.executable = executable
        child = ChildProcess(executable: executable, arguments: arguments, environment: environment)
        self.stdout = stdout ?? OutputReader(tailLimit: 4096)
        self.stderr = stderr
        child.setStandardError(stderr.pipe)
    }

    /// Uses the readers' pipes for output unless `stdoutHandle` sends stdout elsewhere (a bridge pipe).
    func start(stdin: Any? = nil, stdoutHandle: FileHandle? = nil) async throws -> Bool {
        if let stdin { child.setStandardInput(stdin) }
        child.setStandardOutput(stdoutHandle ?? stdout.pipe)
        let started: Bool
        do {
            started = try await child.start()
        } catch {
            let name = (executable as NSString).lastPathComponent
            throw ResticError(kind: .notInstalled, message: "could not run \(name): \(Self.reason(error))")
        }
        guard started else { return false }
        readsStdout = stdoutHandle == nil
        if readsStdout { stdout.start() }
        stderr.start()
        return true
    }

    private var readsStdout = true

    /// "Text file busy", "Permission denied"… rather than Foundation's "error 256".
    static func reason(_ error: any Error) -> String {
        let nsError = error as NSError
        let posix =
            nsError.domain == NSPOSIXErrorDomain
            ? nsError
            : (nsError.userInfo[NSUnderlyingErrorKey] as? NSError).flatMap { $0.domain == NSPOSIXErrorDomain ? $0 : nil }
        if let posix { return String(cString: strerror(Int32(posix.code))).lowercased() }
        return nsError.localizedDescription
    }

    func waitForEnd() async -> Termination {
        let termination = await child.waitForExit()
        if readsStdout { await stdout.waitForEnd() }
        await stderr.waitForEnd()
        return termination
    }
}

/// The result of one finished restic run.
struct CommandOutput: Sendable {
    let termination: Termination
    let stdout: String
    let stderr: String

    var succeeded: Bool { termination.succeeded }
}

extension Restic {
    /// Global options first (repository, CA, JSON, lock retry), then the command.
    func arguments(for repository: ResticRepository, _ command: [String], json: Bool = true, noLock: Bool = false) -> [String] {
        var arguments: [String] = []
        if !repository.locationIsSecret { arguments.append("--repo=\(repository.location)") }
        if let ca = repository.caCertificatePath { arguments.append("--cacert=\(ca)") }
        if let limit = repository.limitUploadKiB, limit > 0 { arguments.append("--limit-upload=\(limit)") }
        if let limit = repository.limitDownloadKiB, limit > 0 { arguments.append("--limit-download=\(limit)") }
        if json { arguments.append("--json") }
        if noLock { arguments.append("--no-lock") }
        if let retryLock, version.supportsRetryLock, !noLock {
            arguments.append("--retry-lock=\(max(retryLock.components.seconds, 1))s")
        }
        return arguments + command
    }

    /// PATH and HOME, then `extra`, then the repository's variables (which win), then
    /// RESTIC_REPOSITORY when the location holds credentials. Nothing else of this process leaks in.
    func environment(for repository: ResticRepository, extra: [String: String] = [:]) -> [String: String] {
        var environment = ExecutableLookup.baseEnvironment()
        environment.merge(extra) { _, new in new }
        environment.merge(repository.environment) { _, new in new }
        if repository.locationIsSecret {
            environment["RESTIC_REPOSITORY"] = repository.location
        } else {
            environment.removeValue(forKey: "RESTIC_REPOSITORY")
            environment.removeValue(forKey: "RESTIC_REPOSITORY_FILE")
        }
        return environment
    }

    /// Runs restic once, streaming lines to the handlers and keeping up to `stdoutLimit` bytes of
    /// stdout (0 keeps none; more is an error). Cancelling the task stops restic
    /// (SIGINT, SIGKILL after the grace period) and throws `.interrupted`.
    func run(
        _ repository: ResticRepository,
        _ command: [String],
        json: Bool = true,
        noLock: Bool = false,
        stdoutLimit: Int = 64 * 1024 * 1024,
        extraEnvironment: [String: String] = [:],
        stdin: Any? = nil,
        onStdoutLine: (@Sendable (String) -> Void)? = nil,
        onStderrLine: (@Sendable (String) -> Void)? = nil
    ) async throws -> CommandOutput {
        let deadline = ContinuousClock.now + (retryLock ?? .zero)
        while true {
            let output = try await runOnce(
                repository, command, json: json, noLock: noLock, stdoutLimit: stdoutLimit, extraEnvironment: extraEnvironment, stdin: stdin,
                onStdoutLine: onStdoutLine, onStderrLine: onStderrLine)
            // restic before 0.16 has no --retry-lock: wait for the other operation's lock ourselves
            // (not with a standard input, which the first attempt consumed).
            guard !output.succeeded, retryLock != nil, !version.supportsRetryLock, !noLock, stdin == nil,
                failure(output, repository, operation: "").kind == .locked, ContinuousClock.now < deadline
            else { return output }
            let pause = min(Duration.seconds(2), deadline - ContinuousClock.now)
            do {
                try await Task.sleep(for: pause)
            } catch {
                throw ResticError.interrupted("waiting for another operation's lock on the repository")
            }
        }
    }

    private func runOnce(
        _ repository: ResticRepository,
        _ command: [String],
        json: Bool,
        noLock: Bool,
        stdoutLimit: Int,
        extraEnvironment: [String: String],
        stdin: Any?,
        onStdoutLine: (@Sendable (String) -> Void)?,
        onStderrLine: (@Sendable (String) -> Void)?
    ) async throws -> CommandOutput {
        if Task.isCancelled { throw ResticError.interrupted() }
        let running = RunningCommand(
            executable: executablePath,
            arguments: arguments(for: repository, command, json: json, noLock: noLock),
            environment: environment(for: repository, extra: extraEnvironment),
            stdout: OutputReader(keepAllLimit: stdoutLimit, tailLimit: 64 * 1024, onLine: onStdoutLine),
            stderr: OutputReader(tailLimit: 256 * 1024, onLine: onStderrLine)
        )
        let grace = interruptGracePeriod
        let termination: Termination? = try await withTaskCancellationHandler {
            guard try await running.start(stdin: stdin) else { return nil }
            return await running.waitForEnd()
        } onCancel: {
            running.child.stop(grace: grace)
        }
        guard let termination, !running.child.wasStopped else { throw ResticError.interrupted() }
        if running.stdout.wasTruncated {
            throw ResticError(kind: .other, message: "restic printed more than \(stdoutLimit / 1024 / 1024) MiB of output; it was not read")
        }
        return CommandOutput(termination: termination, stdout: running.stdout.allText, stderr: running.stderr.tailText)
    }

    /// The error for a failed run, classified and redacted.
    func failure(_ output: CommandOutput, _ repository: ResticRepository, operation: String, extraSecrets: [String] = []) -> ResticError {
        let secrets = repository.secretValues + extraSecrets
        if output.termination.signaled {
            let detail = ResticErrorClassifier.meaningfulLines(Redactor(secrets: secrets).redact(output.stderr)).suffix(12)
            return ResticError(
                kind: .other,
                message: "\(operation) failed: restic was killed by signal \(output.termination.status)",
                detail: detail.joined(separator: "\n")
            )
        }
        var code = output.termination.status
        if let jsonCode = JSONLines.exitErrorCode(in: output.stderr), jsonCode > 0, jsonCode < 256 { code = Int32(jsonCode) }
        return ResticErrorClassifier.classify(
            exitCode: code, stderr: output.stderr, version: version, secrets: secrets, operation: operation
        )
    }
}

/// Checks of values that become restic arguments, so none can be read as an option.
enum ArgumentCheck {
    static func tags(_ tags: [String]) throws {
        for tag in tags where tag.isEmpty || tag.contains(",") || tag.contains(where: \.isNewline) {
            throw ResticError.invalidArgument("the tag \"\(tag)\" is not valid: tags must be non-empty and contain no comma")
        }
    }

    static func host(_ host: String) throws {
        if host.isEmpty || host.contains(where: { $0.isWhitespace }) {
            throw ResticError.invalidArgument("the host name \"\(host)\" is not valid")
        }
    }

    static func snapshotID(_ id: String) throws {
        let hex = id.allSatisfy { $0.isASCII && $0.isHexDigit }
        if id.count < 4 || id.count > 64 || !hex {
            throw ResticError.invalidArgument("\"\(id)\" is not a snapshot id")
        }
    }

    static func groupBy(_ groupBy: String) throws {
        let allowed: Set<Substring> = ["host", "paths", "tags"]
        let parts = groupBy.split(separator: ",", omittingEmptySubsequences: false)
        if !groupBy.isEmpty, !parts.allSatisfy(allowed.contains) {
            throw ResticError.invalidArgument("group-by \"\(groupBy)\" is not valid: use host, paths and tags separated by commas")
        }
    }

    /// `["--keep-last", "2", "--keep-daily=7"]`: every option is a `--keep-` one, every value is not an option.
    static func keepPolicy(_ keep: [String]) throws {
        guard !keep.isEmpty else {
            throw ResticError.invalidArgument("a retention policy (--keep-… options) is required to forget snapshots")
        }
        for argument in keep where argument.hasPrefix("-") && !argument.hasPrefix("--keep-") {
            throw ResticError.invalidArgument("\"\(argument)\" is not a retention option (they start with --keep-)")
        }
    }
}
