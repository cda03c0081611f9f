import Foundation

/// Removes secrets from text that leaves a process (log lines, run excerpts, error messages, mail
/// failures): the secret values it was given, the user info of every URL, and the values of
/// `password=…`, `token: …`, `Authorization: Bearer …` shapes. Each is replaced by `Redactor.mask`.
public struct Redactor: Sendable {
    /// The text that replaces every secret.
    public static let mask = "[redacted]"

    private var secrets: [String]

    /// A redactor that masks `secrets` (empty values are ignored) besides the patterns.
    public init(secrets: some Sequence<String> = [String]()) {
        self.secrets = []
        for secret in secrets { add(secret) }
    }

    /// Adds a secret value to mask from now on.
    public mutating func add(_ secret: String) {
        guard !secret.isEmpty, !secrets.contains(secret) else { return }
        secrets.append(secret)
        // Longest first, so a secret that contains another is masked whole.
        secrets.sort { $0.count > $1.count }
    }

    /// `text` with every known secret, every URL's user info and every keyword-shaped value masked.
    public func redact(_ text: String) -> String {
        var result = text
        for secret in secrets where result.contains(secret) {
            result = result.replacingOccurrences(of: secret, with: Self.mask)
        }
        return Self.redactPatterns(Self.redactURLCredentials(result))
    }

    /// `scheme://user:pass@host` and `scheme://token@host` → `scheme://[redacted]@host`, for every
    /// URL in `text`. The whole user info goes: a user name can itself be a token or an access key.
    public static func redactURLCredentials(_ text: String) -> String {
        guard text.contains("://") else { return text }
        var output = ""
        var rest = Substring(text)
        while let schemeEnd = rest.range(of: "://") {
            output += rest[..<schemeEnd.upperBound]
            rest = rest[schemeEnd.upperBound...]
            let authorityEnd = rest.firstIndex(where: isAuthorityTerminator) ?? rest.endIndex
            let authority = rest[..<authorityEnd]
            if let at = authority.lastIndex(of: "@") {
                output += mask
                output += authority[at...]
            } else {
                output += authority
            }
            rest = rest[authorityEnd...]
        }
        return output + rest
    }

    /// The user-info parts of every URL in `location`: the whole `user:pass`, the password and its
    /// percent-decoded form, so that a program echoing any of them on its own is caught too.
    public static func credentialParts(in location: String) -> [String] {
        var parts: [String] = []
        var rest = Substring(location)
        while let schemeEnd = rest.range(of: "://") {
            rest = rest[schemeEnd.upperBound...]
            let authorityEnd = rest.firstIndex(where: isAuthorityTerminator) ?? rest.endIndex
            let authority = rest[..<authorityEnd]
            if let at = authority.lastIndex(of: "@") {
                let userInfo = authority[..<at]
                parts.append(String(userInfo))
                if let colon = userInfo.firstIndex(of: ":") {
                    let password = String(userInfo[userInfo.index(after: colon)...])
                    parts.append(password)
                    if let decoded = password.removingPercentEncoding { parts.append(decoded) }
                }
            }
            rest = rest[authorityEnd...]
        }
        return parts.filter { !$0.isEmpty }
    }

    /// `password=x`, `secret: x`, `api_key=x`, `Authorization: Bearer x` → the value masked.
    /// (Swift Regex, not NSRegularExpression: the latter loads ICU, which the agent's memory budget
    /// does not need.)
    static func redactPatterns(_ text: String) -> String {
        let lower = text.lowercased()
        var result = text
        // Regexes only when a keyword is present: most lines have none, and running them costs.
        if ["pass", "secret", "token", "credential", "_key"].contains(where: lower.contains) {
            // The keyword starts a word or follows a capital or `_` (`PGPASSWORD=`, `db_password:`), so
            // words that merely contain one (restic's `getCredentials: no credentials found`) stay readable.
            result = result.replacing(
                #/(^|[^a-z])((?i:password|passwd|secret|token|credential|access_key|secret_key|api_key)[\w-]*\s*[=:]\s*)("[^"]*"|\S+)/#
            ) { match in match.output.1 + match.output.2 + mask }
        }
        if lower.contains("authorization") {
            result = result.replacing(#/(?i)(authorization:\s*(?:agent|bearer|basic|digest|token)\s+)\S+/#) { match in
                match.output.1 + mask
            }
        }
        return result
    }

    private static func isAuthorityTerminator(_ character: Character) -> Bool {
        character == "/" || character == "\"" || character == "'" || character == "<" || character == ">"
            || character == "`" || character.isWhitespace
    }
}
