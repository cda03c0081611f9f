import Foundation
import Logging
import Redaction

/// The agent's swift-log handler: one line per message on standard error (the journal under
/// systemd), `<time> <message> key=value…` with the metadata keys sorted, everything redacted.
/// The executable installs it (`LoggingSystem.bootstrap(AgentLogHandler.init)`); the library only
/// receives `Logger`s.
public struct AgentLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level = .info

    public init(label: String) {}

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        FileHandle.standardError.write(Data((Self.line(event, metadata: metadata) + "\n").utf8))
    }

    /// The text of one line (without the newline).
    static func line(_ event: LogEvent, metadata base: Logger.Metadata, at date: Date = Date()) -> String {
        let stamp = date.formatted(.iso8601.year().month().day().time(includingFractionalSeconds: false))
        var merged = base
        if let extra = event.metadata { merged.merge(extra) { $1 } }
        var text = "\(stamp) \(event.level == .info || event.level == .notice ? "" : "\(event.level): ")\(event.message)"
        for key in merged.keys.sorted() { text += " \(key)=\(merged[key]!)" }
        return Redactor().redact(text)
    }
}
