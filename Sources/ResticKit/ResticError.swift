import Foundation
import Redaction

/// A failed restic operation, in words a user can act on.
///
/// `message` is always redacted: no value of the repository's environment, no credentials of a URL.
/// `detail` is the (equally redacted) tail of what restic printed, for logs.
public struct ResticError: Error, CustomStringConvertible, Sendable, Equatable {
    public enum Kind: String, Sendable, Hashable, CaseIterable {
        case wrongPassword = "wrong_password"
        case repositoryMissing = "repository_missing"
        case locked
        case unreachable
        case diskFull = "disk_full"
        case permissionDenied = "permission_denied"
        case producerFailed = "producer_failed"
        case interrupted
        case notInstalled = "not_installed"
        case other
    }

    public let kind: Kind
    /// restic's exit code, or the producer's for `.producerFailed`; nil when no process ended.
    public let exitCode: Int32?
    public let message: String
    /// The last lines restic (or the producer) printed on stderr, redacted. Empty when none.
    public let detail: String

    public init(kind: Kind, exitCode: Int32? = nil, message: String, detail: String = "") {
        self.kind = kind
        self.exitCode = exitCode
        self.message = message
        self.detail = detail
    }

    public var description: String { message }

    static func interrupted(_ what: String = "the restic operation") -> ResticError {
        ResticError(kind: .interrupted, message: "\(what) was interrupted")
    }

    static func invalidArgument(_ message: String) -> ResticError {
        ResticError(kind: .other, message: message)
    }
}

/// Turns an exit code and restic's stderr into a `ResticError`.
///
/// Since 0.17 the exit code says it (10 no repository, 11 locked, 12 wrong password); before, every
/// failure is exit 1 and the text decides. The text rules are ordered: an unreachable server also
/// prints "Is there a repository at the following location?" on 0.14, so it is looked for first.
enum ResticErrorClassifier {
    static func classify(
        exitCode: Int32,
        stderr: String,
        version: ResticVersion,
        secrets: [String],
        operation: String
    ) -> ResticError {
        let redacted = Redactor(secrets: secrets).redact(stderr)
        let lines = meaningfulLines(redacted)
        let fatal = fatalLine(lines)
        let detail = lines.suffix(12).joined(separator: "\n")
        let lower = redacted.lowercased()

        func error(_ kind: ResticError.Kind, _ message: String) -> ResticError {
            ResticError(kind: kind, exitCode: exitCode, message: message, detail: detail)
        }

        if version.hasDetailedExitCodes {
            switch exitCode {
            case 10: return error(.repositoryMissing, Messages.repositoryMissing)
            case 11: return error(.locked, Messages.locked(lockDetail(lines)))
            case 12: return error(.wrongPassword, Messages.wrongPassword)
            default: break
            }
        }
        if exitCode == 130 { return error(.interrupted, "\(operation) was interrupted") }

        if lower.contains("wrong password or no key found") || lower.contains("wrong password") {
            return error(.wrongPassword, Messages.wrongPassword)
        }
        if lower.contains("repository is already locked") || lower.contains("unable to create lock")
            || lower.contains("failed to lock repository")
        {
            return error(.locked, Messages.locked(lockDetail(lines)))
        }
        if lower.contains("no space left on device") || lower.contains("disk quota exceeded")
            || lower.contains("insufficient storage") || lower.contains("quotaexceeded")
        {
            return error(.diskFull, Messages.diskFull)
        }
        if Patterns.unreachable.contains(where: lower.contains) {
            return error(.unreachable, Messages.unreachable(networkReason(lower: lower, fatal: fatal)))
        }
        if Patterns.permission.contains(where: lower.contains) {
            return error(.permissionDenied, Messages.permissionDenied(fatal.map(Self.shorten) ?? "access was refused"))
        }
        if Patterns.missing.contains(where: lower.contains) {
            return error(.repositoryMissing, Messages.repositoryMissing)
        }
        let what = fatal.map(Self.shorten) ?? lines.last.map(Self.shorten)
        if let what {
            return error(.other, "\(operation) failed (restic exit code \(exitCode)): \(what)")
        }
        return error(.other, "\(operation) failed (restic exit code \(exitCode))")
    }

    enum Messages {
        static let wrongPassword = "the repository password is wrong"
        static let repositoryMissing = "there is no restic repository at the destination yet (it has not been initialized)"
        static let diskFull = "no space left on the destination"
        static func locked(_ detail: String?) -> String {
            var text = "the repository is locked by another operation"
            if let detail { text += " (\(detail))" }
            return text + "; it will be free when that operation ends, and a lock left by a crashed run can be removed with unlock"
        }
        static func unreachable(_ detail: String) -> String { "the destination cannot be reached: \(detail)" }
        static func permissionDenied(_ detail: String) -> String {
            "permission denied on the destination: \(detail)"
        }
    }

    enum Patterns {
        static let unreachable = [
            "connection refused", "no such host", "network is unreachable", "no route to host",
            "i/o timeout", "connection reset", "connection timed out", "tls handshake",
            "x509:", "certificate signed by unknown authority", "certificate is not valid",
            "server gave http response to https client", "timeout awaiting", "context deadline exceeded",
            "temporary failure in name resolution", "host is down",
        ]
        static let permission = [
            "permission denied", "access denied", "accessdenied", "operation not permitted", "403 forbidden",
            "unauthorized", "invalidaccesskeyid", "signaturedoesnotmatch", "access key id you provided does not exist",
        ]
        static let missing = [
            "is there a repository at the following location?", "repository does not exist",
            "unable to open config file", "config file does not exist", "the specified bucket does not exist",
            "nosuchbucket",
        ]
    }

    /// Lines worth showing: no progress bars, no blank lines, JSON exit errors unwrapped.
    static func meaningfulLines(_ text: String) -> [String] {
        text.split(whereSeparator: \.isNewline).compactMap { raw -> String? in
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty { return nil }
            if line.hasPrefix("{"), let message = JSONLines.errorText(fromJSONLine: line) { return message }
            if line.hasPrefix("["), line.contains("%") { return nil }  // "[0:00] 100.00%  3 / 3 snapshots"
            return line
        }
    }

    /// The restic "Fatal: …" line without the prefix, else nil.
    static func fatalLine(_ lines: [String]) -> String? {
        guard let line = lines.last(where: { $0.hasPrefix("Fatal:") }) else { return nil }
        return line.dropFirst("Fatal:".count).trimmingCharacters(in: .whitespaces)
    }

    /// "repository is already locked by PID 19551 on vm by root (UID 0, GID 0)" → "by PID 19551 on vm by root".
    static func lockDetail(_ lines: [String]) -> String? {
        guard let line = lines.first(where: { $0.lowercased().contains("already locked") }),
            let range = line.range(of: "locked ", options: .caseInsensitive)
        else { return nil }
        var detail = String(line[range.upperBound...])
        if let paren = detail.range(of: " (UID") { detail = String(detail[..<paren.lowerBound]) }
        if detail.hasPrefix("exclusively ") { detail = String(detail.dropFirst("exclusively ".count)) }
        return detail.isEmpty ? nil : "held " + detail
    }

    /// A short reason for a network failure: "connection refused by 127.0.0.1:1",
    /// "the host name backup.invalid was not found", else restic's own (shortened) words.
    static func networkReason(lower: String, fatal: String?) -> String {
        if lower.contains("no such host") || lower.contains("temporary failure in name resolution"),
            let host = word(after: "lookup ", in: lower)
        {
            return "the host name \(host) was not found"
        }
        let address = word(after: "dial tcp ", in: lower).map { $0.hasSuffix(":") ? String($0.dropLast()) : $0 }
        let place = address.map { " (\($0))" } ?? ""
        if lower.contains("connection refused") { return "the connection was refused\(place)" }
        if lower.contains("i/o timeout") || lower.contains("connection timed out") || lower.contains("timeout awaiting")
            || lower.contains("context deadline exceeded")
        {
            return "the connection timed out\(place)"
        }
        if lower.contains("network is unreachable") || lower.contains("no route to host") || lower.contains("host is down") {
            return "no network route to the server\(place)"
        }
        if lower.contains("x509:") || lower.contains("certificate") {
            return "its TLS certificate is not trusted (\(fatal.map(shorten) ?? "certificate error"))"
        }
        return fatal.map(shorten) ?? "no connection"
    }

    private static func word(after marker: String, in text: String) -> String? {
        guard let range = text.range(of: marker) else { return nil }
        let word = text[range.upperBound...].prefix(while: { !$0.isWhitespace })
        return word.isEmpty ? nil : String(word)
    }

    /// Keeps the end of long Go error chains readable: at most 300 characters.
    static func shorten(_ text: String) -> String {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmed.count <= 300 { return trimmed }
        return "…" + trimmed.suffix(299)
    }
}
