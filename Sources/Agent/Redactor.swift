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
    /// `Authorization: Agent x` → the value masked.
    static func redactPatterns(_ text: String) -> String {
        var result = text
        let patterns: [(String, String)] = [
            (#"(://[^/\s:@]+):[^@\s/]+@"#, "$1:" + mask + "@"),
            (#"(?i)((?:password|passwd|secret|token|credential|access_key|secret_key|api_key)[\w-]*\s*[=:]\s*)("[^"]*"|\S+)"#, "$1" + mask),
            (#"(?i)(authorization:\s*(?:agent|bearer|basic)\s+)\S+"#, "$1" + mask),
        ]
        for (pattern, template) in patterns {
            guard let regex = try? NSRegularExpression(pattern: pattern) else { continue }
            let range = NSRange(result.startIndex..., in: result)
            result = regex.stringByReplacingMatches(in: result, range: range, withTemplate: template)
        }
        return result
    }
}
