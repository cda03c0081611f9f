import Foundation
import Redaction

#if canImport(Glibc)
    import Glibc
#endif

extension Restic {
    /// Backs up `paths` into a new snapshot with `tags` and `host`, reporting restic's progress and,
    /// once done, one final report (`isFinal`, percentDone 1).
    ///
    /// Exit code 3 (snapshot created, some files unreadable) is a success: the unreadable items are
    /// in the summary's `warnings`.
    public func backup(
        _ repository: ResticRepository,
        paths: [String],
        excludes: [String],
        tags: [String],
        host: String,
        progress: @escaping @Sendable (ResticProgress) -> Void
    ) async throws -> ResticBackupSummary {
        guard !paths.isEmpty else { throw ResticError.invalidArgument("nothing to back up: no path was given") }
        try ArgumentCheck.tags(tags)
        try ArgumentCheck.host(host)
        var command = ["backup", "--host=\(host)"]
        command += tags.map { "--tag=\($0)" }
        command += excludes.map { "--exclude=\($0)" }
        command.append("--")
        command += paths
        let collector = BackupCollector(progress: progress, secrets: repository.secretValues)
        let output = try await run(
            repository, command,
            stdoutLimit: 0,  // hours of status lines: parsed as they come, not kept
            onStdoutLine: { collector.take($0) },
            onStderrLine: { collector.take($0) }
        )
        return try finishBackup(output, collector, repository, progress: progress)
    }

    /// Backs up the standard output of `producer` (e.g. pg_dump) as the single file `filename`,
    /// streamed through a pipe, never a temporary file.
    ///
    /// When the producer fails (non-zero exit or a signal) no snapshot is kept and
    /// `.producerFailed` is thrown with its exit status and the end of its stderr. restic 0.17+
    /// runs the producer itself (`--stdin-from-command`) and refuses the snapshot; older versions
    /// read a pipe fed by the producer and record a snapshot regardless, which is then forgotten
    /// and pruned.
    public func backupStdin(
        _ repository: ResticRepository,
        filename: String,
        tags: [String],
        host: String,
        producer: ProducerCommand,
        progress: @escaping @Sendable (ResticProgress) -> Void
    ) async throws -> ResticBackupSummary {
        try ArgumentCheck.tags(tags)
        try ArgumentCheck.host(host)
        let name = filename.hasPrefix("/") ? String(filename.dropFirst()) : filename
        guard !name.isEmpty, !name.contains(where: \.isNewline) else {
            throw ResticError.invalidArgument("the file name \"\(filename)\" is not valid for a backup from a command")
        }
        let base = ExecutableLookup.baseEnvironment()
        guard let producerPath = ExecutableLookup.resolve(producer.executable, path: producer.environment["PATH"] ?? base["PATH"]) else {
            throw ResticError(
                kind: .producerFailed,
                message: "the command \"\(producer.displayName)\" was not found, so nothing was backed up"
            )
        }
        let producerSecrets = producer.secretValues
        var command = ["backup", "--stdin-filename=\(name)", "--host=\(host)"]
        command += tags.map { "--tag=\($0)" }

        if version.supportsStdinFromCommand && prefersStdinFromCommand {
            return try await backupFromCommand(repository, command, producerPath, producer, producerSecrets, progress)
        }
        return try await backupThroughPipe(repository, command, producerPath, producer, producerSecrets, progress)
    }

    // MARK: restic 0.17+: restic runs the producer

    private func backupFromCommand(
        _ repository: ResticRepository,
        _ command: [String],
        _ producerPath: String,
        _ producer: ProducerCommand,
        _ producerSecrets: [String],
        _ progress: @escaping @Sendable (ResticProgress) -> Void
    ) async throws -> ResticBackupSummary {
        let collector = BackupCollector(progress: progress, secrets: repository.secretValues + producerSecrets)
        let full = command + ["--stdin-from-command", "--", producerPath] + producer.arguments
        let output = try await run(
            repository, full,
            stdoutLimit: 0,
            extraEnvironment: producer.environment,
            onStdoutLine: { collector.take($0) },
            onStderrLine: { collector.take($0) }
        )
        if !output.succeeded, let status = Self.commandFailureStatus(output.stderr) {
            let tail = Self.subprocessOutput(output.stderr, name: (producerPath as NSString).lastPathComponent)
            // restic refuses the snapshot itself; should a version still report one, remove it.
            let note = await removePartialSnapshot(collector.snapshotID, repository)
            throw producerFailure(
                producer, status: status.code, how: status.text, stderrTail: tail,
                secrets: repository.secretValues + producerSecrets, note: note
            )
        }
        return try finishBackup(output, collector, repository, progress: progress, extraSecrets: producerSecrets)
    }

    /// restic's "command failed: exit status 3" / "command failed: signal: killed".
    static func commandFailureStatus(_ stderr: String) -> (code: Int32?, text: String)? {
        // restic's own lines only: the producer's, relayed as "subprocess NAME: …", may say anything.
        let lines = stderr.split(whereSeparator: \.isNewline).map { raw -> String in
            let line = String(raw)
            return line.hasPrefix("{") ? JSONLines.errorText(fromJSONLine: line) ?? line : line
        }
        guard let line = lines.last(where: { !$0.hasPrefix("subprocess ") && $0.contains("command failed: ") }),
            let range = line.range(of: "command failed: ")
        else { return nil }
        let rest = line[range.upperBound...].prefix(while: { $0 != "\"" })
        let text = String(rest).trimmingCharacters(in: .whitespaces)
        if text.hasPrefix("exit status "), let code = Int32(text.dropFirst("exit status ".count)) {
            return (code, "exited with status \(code)")
        }
        if text.hasPrefix("signal: ") { return (nil, "was killed (\(text))") }
        return (nil, "failed (\(text))")
    }

    /// The producer's stderr as relayed by restic: lines "subprocess NAME: text" (plain, or inside
    /// a JSON error message).
    static func subprocessOutput(_ stderr: String, name: String) -> String {
        let prefix = "subprocess \(name): "
        let lines = stderr.split(whereSeparator: \.isNewline).compactMap { raw -> String? in
            var line = String(raw)
            if line.hasPrefix("{"), let text = JSONLines.errorText(fromJSONLine: line) { line = text }
            guard let range = line.range(of: prefix) else { return nil }
            return String(line[range.upperBound...])
        }
        return lines.joined(separator: "\n")
    }

    // MARK: restic < 0.17: producer | restic backup --stdin

    private func backupThroughPipe(
        _ repository: ResticRepository,
        _ command: [String],
        _ producerPath: String,
        _ producer: ProducerCommand,
        _ producerSecrets: [String],
        _ progress: @escaping @Sendable (ResticProgress) -> Void
    ) async throws -> ResticBackupSummary {
        if Task.isCancelled { throw ResticError.interrupted() }
        let collector = BackupCollector(progress: progress, secrets: repository.secretValues + producerSecrets)
        let restic = RunningCommand(
            executable: executablePath,
            arguments: arguments(for: repository, command + ["--stdin"]),
            environment: environment(for: repository),
            stdout: OutputReader(tailLimit: 64 * 1024, onLine: { collector.take($0) }),
            stderr: OutputReader(tailLimit: 256 * 1024, onLine: { collector.take($0) })
        )
        var producerEnvironment = ExecutableLookup.baseEnvironment()
        producerEnvironment.merge(producer.environment) { _, new in new }
        let source = RunningCommand(
            executable: producerPath,
            arguments: producer.arguments,
            environment: producerEnvironment,
            stdout: nil,
            stderr: OutputReader(tailLimit: 4096)
        )
        let bridge = try BridgePipe()
        let grace = interruptGracePeriod
        let ended: (restic: Termination, producer: Termination?)? = try await withTaskCancellationHandler {
            // restic first: when the producer cannot start, closing the pipe ends restic's input.
            guard try await restic.start(stdin: bridge.reading) else {
                bridge.closeReading()
                bridge.closeWriting()
                return nil
            }
            bridge.closeReading()
            var producerStarted = false
            do {
                producerStarted = try await source.start(stdoutHandle: bridge.writing)
            } catch {
                producerStarted = false
            }
            bridge.closeWriting()
            if !producerStarted {
                // Not started (or stopped first): restic sees an empty input and fails, or stores an
                // empty file that is removed below.
                return (await restic.waitForEnd(), nil)
            }
            async let producerEnd = source.waitForEnd()
            let resticEnd = await restic.waitForEnd()
            return (resticEnd, await producerEnd)
        } onCancel: {
            source.child.stop(grace: grace)
            restic.child.stop(grace: grace)
        }
        guard let ended, !restic.child.wasStopped, !source.child.wasStopped else {
            let detail = Redactor(secrets: repository.secretValues + producerSecrets).redact(restic.stderr.tailText)
            throw ResticError(
                kind: .interrupted,
                message: "the backup was interrupted",
                detail: ResticErrorClassifier.meaningfulLines(detail).suffix(12).joined(separator: "\n")
            )
        }
        let output = CommandOutput(termination: ended.restic, stdout: restic.stdout.tailText, stderr: restic.stderr.tailText)
        let secrets = repository.secretValues + producerSecrets

        let producerFailed = ended.producer.map { !$0.succeeded } ?? true
        guard producerFailed else {
            return try finishBackup(output, collector, repository, progress: progress, extraSecrets: producerSecrets)
        }
        let resticRecorded = ended.restic.succeeded || (!ended.restic.signaled && ended.restic.status == 3)
        if !resticRecorded {
            // A restic that failed on its own (wrong password, locked, unreachable…) closes the pipe,
            // and the producer then dies of SIGPIPE or EPIPE: restic's error is the cause.
            let resticError = failure(output, repository, operation: "the backup", extraSecrets: producerSecrets)
            let brokenPipe = ended.producer.map { $0.signaled && $0.status == SIGPIPE } ?? false
            if resticError.kind != .other || brokenPipe { throw resticError }
        }
        // The producer failed. restic 0.14 records whatever it read: remove that snapshot.
        let note = await removePartialSnapshot(resticRecorded ? collector.snapshotID : nil, repository)
        guard let producerEnd = ended.producer else {
            throw ResticError(
                kind: .producerFailed,
                message: "the command \"\(producer.displayName)\" could not be started; \(note)"
            )
        }
        throw producerFailure(
            producer, status: producerEnd.signaled ? nil : producerEnd.status, how: producerEnd.summary,
            stderrTail: source.stderr.tailText, secrets: secrets, note: note
        )
    }

    /// Forgets (and prunes) the snapshot of a failed producer; says what happened, for the message.
    private func removePartialSnapshot(_ snapshotID: String?, _ repository: ResticRepository) async -> String {
        guard let snapshotID else { return "no snapshot was kept" }
        do {
            try await forgetSnapshot(repository, id: snapshotID)
            return "the partial snapshot was removed"
        } catch let error as ResticError {
            return "the partial snapshot \(snapshotID.prefix(8)) could not be removed (\(error.message))"
        } catch {
            return "the partial snapshot \(snapshotID.prefix(8)) could not be removed"
        }
    }

    private func producerFailure(
        _ producer: ProducerCommand, status: Int32?, how: String, stderrTail: String, secrets: [String], note: String
    ) -> ResticError {
        let tail = Redactor(secrets: secrets).redact(stderrTail)
            .split(whereSeparator: \.isNewline)
            .map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty }
            .suffix(10)
            .joined(separator: "\n")
        var message = "the command \"\(producer.displayName)\" \(how), so its output was not backed up; \(note)"
        if !tail.isEmpty { message += ". Its last messages: \(tail)" }
        return ResticError(kind: .producerFailed, exitCode: status, message: message, detail: tail)
    }

    // MARK: Shared

    func finishBackup(
        _ output: CommandOutput,
        _ collector: BackupCollector,
        _ repository: ResticRepository,
        progress: @Sendable (ResticProgress) -> Void,
        extraSecrets: [String] = []
    ) throws -> ResticBackupSummary {
        let partial = !output.termination.signaled && output.termination.status == 3
        guard output.succeeded || partial, var summary = collector.summary, !summary.snapshotID.isEmpty else {
            if output.succeeded {
                throw ResticError(kind: .other, exitCode: 0, message: "restic finished the backup without reporting a snapshot")
            }
            throw failure(output, repository, operation: "the backup", extraSecrets: extraSecrets)
        }
        summary.warnings = collector.warnings
        if partial && summary.warnings.isEmpty {
            summary.warnings = ["some source files could not be read"]
        }
        progress(
            ResticProgress(
                percentDone: 1,
                totalFiles: summary.totalFilesProcessed,
                filesDone: summary.totalFilesProcessed,
                totalBytes: summary.totalBytesProcessed,
                bytesDone: summary.totalBytesProcessed,
                secondsElapsed: Int(summary.totalDuration.rounded()),
                secondsRemaining: 0,
                errorCount: summary.warnings.count,
                isFinal: true
            ))
        return summary
    }
}

/// Collects what a backup prints: progress (forwarded at once), the summary, and per-item errors.
final class BackupCollector: @unchecked Sendable {
    private let lock = NSLock()
    private let progress: @Sendable (ResticProgress) -> Void
    private let secrets: [String]
    private var summaryLine: JSONLines.SummaryLine?
    private var collectedWarnings: [String] = []
    private static let warningLimit = 1000

    init(progress: @escaping @Sendable (ResticProgress) -> Void, secrets: [String]) {
        self.progress = progress
        self.secrets = secrets
    }

    func take(_ line: String) {
        guard let message = JSONLines.decodeBackupLine(line) else { return }
        switch message {
        case .status(let status):
            progress(status)
        case .summary(let summary):
            lock.withLock { summaryLine = summary }
        case .error(let text):
            let redacted = Redactor(secrets: secrets).redact(text)
            lock.withLock {
                if collectedWarnings.count < Self.warningLimit { collectedWarnings.append(redacted) }
            }
        case .other:
            break
        }
    }

    var summary: ResticBackupSummary? { lock.withLock { summaryLine?.summary } }
    var snapshotID: String? { lock.withLock { summaryLine?.snapshotID } }
    var warnings: [String] { lock.withLock { collectedWarnings } }
}
