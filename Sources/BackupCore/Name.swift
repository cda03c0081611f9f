/// Names of servers, destinations and jobs: what the user types on the command line.
public enum Name {
    public static let maxLength = 64

    /// Validates a resource name: 1–64 characters, letters, digits, `.`, `-`, `_`; must start with
    /// a letter or digit and must not look like an id.
    public static func validate(_ name: String, field: String = "name") throws(DomainError) -> String {
        let trimmed = name.trimmingSpaces
        if trimmed.isEmpty {
            throw .invalid(field, "a name is required (letters, digits, '.', '-', '_')")
        }
        if trimmed.count > maxLength {
            throw .invalid(field, "\"\(trimmed.prefix(20))…\" is \(trimmed.count) characters long; the limit is \(maxLength)")
        }
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_")
        if let bad = trimmed.first(where: { !allowed.contains($0) }) {
            throw .invalid(field, "\"\(trimmed)\" contains \"\(bad)\"; use letters, digits, '.', '-' and '_' only")
        }
        if let first = trimmed.first, !(first.isLetter || first.isNumber) {
            throw .invalid(field, "\"\(trimmed)\" must start with a letter or a digit")
        }
        if ResourceKind.allCases.contains(where: { ResourceID.looksLike(trimmed, $0) }) {
            throw .invalid(field, "\"\(trimmed)\" looks like an id; choose a name that does not")
        }
        return trimmed
    }
}

extension String {
    /// The string without leading and trailing spaces, tabs and newlines (Foundation-free).
    public var trimmingSpaces: String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }
        guard let start = firstIndex(where: { !isSpace($0) }), let end = lastIndex(where: { !isSpace($0) }) else {
            return ""
        }
        return String(self[start...end])
    }
}
