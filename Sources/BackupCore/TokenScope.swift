import Foundation

/// What an API token may do. Scopes are ordered, each including the ones below it:
/// `admin` ⊃ `write` ⊃ `read` ⊃ `metrics`.
///
/// - `metrics`: `GET /metrics` only (a Prometheus scrape config).
/// - `read`: every `GET` of the API (servers, jobs, runs, snapshots, listings, downloads, audit), and metrics.
/// - `write`: changes (create, edit, delete, run, restore) and the vault document, and everything `read` may.
/// - `admin`: the account's API tokens (list, create, revoke) and replacing the vault, and everything else.
///
/// A browser session acts as `admin`: it is the account's person.
public enum TokenScope: String, Sendable, Codable, CaseIterable, Comparable {
    case metrics
    case read
    case write
    case admin

    var rank: Int {
        switch self {
        case .metrics: 0
        case .read: 1
        case .write: 2
        case .admin: 3
        }
    }

    public static func < (lhs: TokenScope, rhs: TokenScope) -> Bool { lhs.rank < rhs.rank }

    /// Whether a token of this scope may do what needs `required`.
    public func allows(_ required: TokenScope) -> Bool { self >= required }

    /// A scope from its name (`read`, `metrics`, `write`, `admin`).
    public static func parse(_ text: String) throws(DomainError) -> TokenScope {
        guard let scope = TokenScope(rawValue: text.trimmingSpaces.lowercased()) else {
            throw .invalid("scope", "\"\(text)\" is not a token scope: use metrics, read, write or admin")
        }
        return scope
    }
}

/// The rules for a new API token's name and lifetime.
public enum APITokenRules {
    /// The shortest lifetime a token may be given (one minute).
    public static let minimumLifetime: TimeInterval = 60
    /// The longest lifetime a token may be given (two years); a token without expiry is allowed too.
    public static let maximumLifetime: TimeInterval = 2 * 366 * 86_400

    /// A name of 1–100 characters, trimmed. Characters are counted as JSON Schema counts them (Unicode
    /// code points, before trimming), so the API's `maxLength` and this check agree exactly.
    public static func validatedName(_ name: String) throws(DomainError) -> String {
        let clean = name.trimmingSpaces
        guard !clean.isEmpty, name.unicodeScalars.count <= 100 else {
            throw .invalid("name", "a token needs a name of 1–100 characters (what it is for)")
        }
        return clean
    }

    /// A lifetime in seconds within the bounds, or nil for a token that does not expire.
    public static func validatedLifetime(_ seconds: Int?) throws(DomainError) -> TimeInterval? {
        guard let seconds else { return nil }
        guard TimeInterval(seconds) >= minimumLifetime, TimeInterval(seconds) <= maximumLifetime else {
            throw .invalid(
                "expiresInSeconds",
                "a token's lifetime must be between 60 seconds and 2 years (\(Int(maximumLifetime)) seconds); omit it for no expiry")
        }
        return TimeInterval(seconds)
    }

    /// Parses a lifetime such as `30m`, `12h`, `30d`, `8w` or `1y` into seconds.
    public static func parseLifetime(_ text: String) throws(DomainError) -> Int {
        let clean = text.trimmingSpaces.lowercased()
        let units: [Character: Int] = ["m": 60, "h": 3600, "d": 86_400, "w": 604_800, "y": 365 * 86_400]
        guard let unit = clean.last.flatMap({ units[$0] }), let count = Int(clean.dropLast()), count > 0, count < 100_000 else {
            throw .invalid("expires", "\"\(text)\" should be a count and a unit (m, h, d, w or y), e.g. 30d or 12h")
        }
        return count * unit
    }
}
