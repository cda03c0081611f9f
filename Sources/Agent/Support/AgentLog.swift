import Foundation
import Redaction

/// The daemon's and commands' log: one line per message on standard error (the journal under
/// systemd), redacted.
public enum AgentLog {
    public static func write(_ message: String) {
        let stamp = Date().formatted(.iso8601.year().month().day().time(includingFractionalSeconds: false))
        let line = "\(stamp) \(Redactor().redact(message))\n"
        FileHandle.standardError.write(Data(line.utf8))
    }
}
