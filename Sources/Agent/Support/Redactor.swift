import Foundation

/// Removes secrets from text that leaves the process (logs, run excerpts, error messages):
/// the known secret values it was given, and common `password=…`/`token …` shapes and URL user info.
public struct Redactor: Sendable {
    public static let mask = "[redacted]"
    private var secrets: [String]

    public init(secrets: [String] = []) {
        self.secrets = secrets.filter { $0.count >= 4 }
    }

    public mutating func add(_ secret: String) {
        if secret.count >= 4 && !secrets.contains(secret) { secrets.append(secret) }
    }

    public func redact(_ text: String) -> String {
        var result = text
        for secret in secrets.sorted(by: { $0.count > $1.count }) {
            result = result.replacingOccurrences(of: secret, with: Self.mask)
        }
        return Self.redactPatterns(result)
    }

    /// `scheme://user:pass@host` → `scheme://user:[redacted]@host`; `password=x`, `secret: x`,
    /// `Authorization: Agent x` → the value masked. (Swift Regex, not NSRegularExpression: the
    /// latter loads ICU, which the daemon's memory budget does not need.)
    static func redactPatterns(_ text: String) -> String {
        var result = redactURLPasswords(text)
        let lower = result.lowercased()
        // Regexes only when a keyword is present: most lines have none, and compiling them costs.
        if ["pass", "secret", "token", "credential", "_key"].contains(where: lower.contains) {
            result = result.replacing(#/(?i)((?:password|passwd|secret|token|credential|access_key|secret_key|api_key)[\w-]*\s*[=:]\s*)("[^"]*"|\S+)/#) { match in
                match.output.1 + mask
            }
        }
        if lower.contains("authorization") {
            result = result.replacing(#/(?i)(authorization:\s*(?:agent|bearer|basic)\s+)\S+/#) { match in match.output.1 + mask }
        }
        return result
    }

    /// `scheme://user:pass@host` → `scheme://user:[redacted]@host`, for every URL in `text`.
    static func redactURLPasswords(_ text: String) -> String {
        guard text.contains("://") else { return text }
        var output = ""
        var rest = Substring(text)
        while let schemeEnd = rest.range(of: "://") {
            output += rest[..<schemeEnd.upperBound]
            rest = rest[schemeEnd.upperBound...]
            let authorityEnd = rest.firstIndex { $0 == "/" || $0.isWhitespace || $0 == "\"" || $0 == "'" } ?? rest.endIndex
            let authority = rest[..<authorityEnd]
            if let at = authority.lastIndex(of: "@"), let colon = authority[..<at].firstIndex(of: ":") {
                output += authority[..<colon] + ":" + mask + authority[at...]
            } else {
                output += authority
            }
            rest = rest[authorityEnd...]
        }
        return output + rest
    }
}
