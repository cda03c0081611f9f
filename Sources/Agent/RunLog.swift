import BackupCore
import Foundation
import Redaction

/// What a run logs: each line goes (redacted) to standard error — the journal under systemd —
/// and the last lines are kept for the run's `logExcerpt` sent to the hub.
public final class RunLog: @unchecked Sendable {
    public static let excerptLines = 50
    private let lock = NSLock()
    private var redactor: Redactor
    private var lines: [String] = []
    private let echo: Bool

    public init(secrets: [String] = [], echo: Bool = true) {
        self.redactor = Redactor(secrets: secrets)
        self.echo = echo
    }

    /// Adds a value to hide from every later line (a password read for this run, say).
    public func addSecret(_ secret: String) {
        lock.withLock { redactor.add(secret) }
    }

    public func callAsFunction(_ message: String) {
        let stamp = Date().formatted(.iso8601.time(includingFractionalSeconds: false))
        let text = lock.withLock { () -> [String] in
            let redacted = redactor.redact(message)
            let newLines = redacted.split(whereSeparator: \.isNewline).map { "\(stamp) \($0)" }
            lines.append(contentsOf: newLines)
            if lines.count > Self.excerptLines * 4 { lines.removeFirst(lines.count - Self.excerptLines) }
            return newLines
        }
        if echo {
            FileHandle.standardError.write(Data(text.map { $0 + "\n" }.joined().utf8))
        }
    }

    /// The last ~50 lines, at most `Run.maxLogExcerptBytes`.
    public var excerpt: String {
        let text = lock.withLock { lines.suffix(Self.excerptLines).joined(separator: "\n") }
        guard text.utf8.count > Run.maxLogExcerptBytes else { return text }
        return String(decoding: text.utf8.suffix(Run.maxLogExcerptBytes), as: UTF8.self)
    }
}
