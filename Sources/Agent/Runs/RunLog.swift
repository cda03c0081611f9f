import BackupCore
import Foundation
import Logging
import Redaction

/// What a run logs: each line goes (redacted) to standard error — the journal under systemd —
/// and the last lines are kept for the run's `logExcerpt` sent to the hub. With a `Logger`, lines
/// go through it with the run's `job.id` and `run.id` as metadata.
public final class RunLog: @unchecked Sendable {
    public static let excerptLines = 50
    private let lock = NSLock()
    private var redactor: Redactor
    private var lines: [String] = []
    private let echo: Bool
    private var logger: Logger?
    private var observers: [@Sendable () -> Void] = []

    public init(secrets: [String] = [], echo: Bool = true, logger: Logger? = nil) {
        self.redactor = Redactor(secrets: secrets)
        self.echo = echo
        self.logger = logger
    }

    /// Tags every later line with the run it belongs to.
    public func annotate(jobID: String, runID: String) {
        lock.withLock {
            logger?[metadataKey: "job.id"] = "\(jobID)"
            logger?[metadataKey: "run.id"] = "\(runID)"
        }
    }

    /// Adds a value to hide from every later line (a password read for this run, say).
    public func addSecret(_ secret: String) {
        lock.withLock { redactor.add(secret) }
    }

    /// Calls `observer` after every line (the run's watchdog counts each as a step).
    func observe(_ observer: @escaping @Sendable () -> Void) {
        lock.withLock { observers.append(observer) }
    }

    public func callAsFunction(_ message: String) {
        let stamp = Date().formatted(.iso8601.time(includingFractionalSeconds: false))
        let (text, logger, observers) = lock.withLock { () -> ([Substring], Logger?, [@Sendable () -> Void]) in
            let redacted = redactor.redact(message)
            let newLines = redacted.split(whereSeparator: \.isNewline)
            lines.append(contentsOf: newLines.map { "\(stamp) \($0)" })
            if lines.count > Self.excerptLines * 4 { lines.removeFirst(lines.count - Self.excerptLines) }
            return (newLines, self.logger, self.observers)
        }
        for observer in observers { observer() }
        guard echo else { return }
        if let logger {
            for line in text { logger.info("\(line)") }
        } else {
            FileHandle.standardError.write(Data(text.map { "\(stamp) \($0)\n" }.joined().utf8))
        }
    }

    /// The last ~50 lines, at most `Run.maxLogExcerptBytes`.
    public var excerpt: String {
        let text = lock.withLock { lines.suffix(Self.excerptLines).joined(separator: "\n") }
        guard text.utf8.count > Run.maxLogExcerptBytes else { return text }
        return String(decoding: text.utf8.suffix(Run.maxLogExcerptBytes), as: UTF8.self)
    }
}
