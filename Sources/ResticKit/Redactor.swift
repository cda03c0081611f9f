import Foundation

/// Removes secrets from text before it reaches a message, a log line or the hub.
enum Redactor {
    static let mask = "***"

    /// Replaces every secret value (longest first) and every `user:password@` of a URL by `***`.
    static func redact(_ text: String, secrets: [String]) -> String {
        var result = text
        for secret in secrets.filter({ !$0.isEmpty }).sorted(by: { $0.count > $1.count }) {
            result = result.replacingOccurrences(of: secret, with: mask)
        }
        return redactURLCredentials(result)
    }

    /// `https://user:pass@host/x` → `https://***@host/x`, for every URL in `text`.
    static func redactURLCredentials(_ text: String) -> String {
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
        output += rest
        return output
    }

    /// True when `text` holds a URL with a user part (`scheme://user[:pass]@host`).
    static func containsURLCredentials(_ text: String) -> Bool {
        redactURLCredentials(text) != text
    }

    /// The user-info parts of every URL in `location`: the whole `user:pass`, the password and its
    /// percent-decoded form, so that restic echoing any of them is caught.
    static func credentialParts(in location: String) -> [String] {
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

    private static func isAuthorityTerminator(_ character: Character) -> Bool {
        character == "/" || character == "\"" || character == "'" || character == "<" || character == ">"
            || character == "`" || character.isWhitespace
    }
}
