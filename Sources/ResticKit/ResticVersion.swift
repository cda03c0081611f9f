import Foundation

/// The version of an installed restic, as printed by `restic version`, and what the CLI of that
/// version supports. ResticKit treats the restic CLI as a versioned contract: every behaviour that
/// differs between releases is decided here, never by probing.
///
/// Ordering compares major, minor and patch. A build with a suffix (`0.17.3-dev`) is restic's
/// development build made *after* that release, so it sorts just after the plain release.
public struct ResticVersion: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let major: Int
    public let minor: Int
    public let patch: Int
    /// What follows the numbers, without the dash: `dev` for `0.18.0-dev`; nil for a release.
    public let suffix: String?

    public init(major: Int, minor: Int, patch: Int, suffix: String? = nil) {
        self.major = major
        self.minor = minor
        self.patch = patch
        self.suffix = suffix
    }

    /// Parses the output of `restic version` ("restic 0.14.0 compiled with go1.19.8 on linux/amd64",
    /// "restic 0.17.3 (v0.17.3-0-g1234567) compiled with …") or a bare version ("0.16.4", "v0.16.4").
    /// Returns nil when no `X.Y.Z` version can be found.
    public init?(parsing text: String) {
        let words = text.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\t" || $0 == "\r" })
        var candidates: [Substring] = []
        if let index = words.firstIndex(where: { $0.lowercased() == "restic" }), index + 1 < words.count {
            candidates.append(words[index + 1])
        }
        candidates.append(contentsOf: words)
        for word in candidates {
            if let parsed = Self.parseVersionWord(word) {
                self = parsed
                return
            }
        }
        return nil
    }

    private static func parseVersionWord(_ word: Substring) -> ResticVersion? {
        var text = word
        if text.hasPrefix("v") { text = text.dropFirst() }
        var suffix: String?
        if let dash = text.firstIndex(where: { $0 == "-" || $0 == "+" }) {
            let rest = text[text.index(after: dash)...]
            suffix = rest.isEmpty ? nil : String(rest)
            text = text[..<dash]
        }
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3 || parts.count == 2 else { return nil }
        var numbers: [Int] = []
        for part in parts {
            guard !part.isEmpty, part.allSatisfy(\.isASCII), part.allSatisfy(\.isNumber), let value = Int(part) else {
                return nil
            }
            numbers.append(value)
        }
        return ResticVersion(major: numbers[0], minor: numbers[1], patch: numbers.count == 3 ? numbers[2] : 0, suffix: suffix)
    }

    public var description: String {
        let base = "\(major).\(minor).\(patch)"
        if let suffix { return "\(base)-\(suffix)" }
        return base
    }

    public static func < (lhs: ResticVersion, rhs: ResticVersion) -> Bool {
        if lhs.major != rhs.major { return lhs.major < rhs.major }
        if lhs.minor != rhs.minor { return lhs.minor < rhs.minor }
        if lhs.patch != rhs.patch { return lhs.patch < rhs.patch }
        switch (lhs.suffix, rhs.suffix) {
        case (nil, nil): return false
        case (nil, _): return true
        case (_, nil): return false
        case let (left?, right?): return left < right
        }
    }

    /// True when this version is at least `major.minor.patch` (a suffix does not matter).
    public func isAtLeast(_ major: Int, _ minor: Int, _ patch: Int = 0) -> Bool {
        (self.major, self.minor, self.patch) >= (major, minor, patch)
    }

    // MARK: Features

    /// `backup --stdin-from-command` (0.17.0): restic runs the producer itself and fails the backup
    /// when it exits non-zero.
    public var supportsStdinFromCommand: Bool { isAtLeast(0, 17) }

    /// Exit codes 10 (no repository), 11 (lock failed) and 12 (wrong password) (0.17; 12 since 0.17.1,
    /// 0.17.0 reports a wrong password as 1 with the same text, which the text rules catch).
    public var hasDetailedExitCodes: Bool { isAtLeast(0, 17) }

    /// The global `--retry-lock DURATION` flag (0.16.0).
    public var supportsRetryLock: Bool { isAtLeast(0, 16) }

    /// `check --json` prints a summary on stdout and errors as JSON on stderr (0.18.0).
    public var hasCheckJSON: Bool { isAtLeast(0, 18) }

    /// With `--json`, fatal errors end with an `exit_error` JSON message on stderr (0.18.0).
    public var hasJSONExitErrors: Bool { isAtLeast(0, 18) }

    /// `backup --json` reports the full snapshot id (0.15.0); older versions print the short id.
    public var reportsFullSnapshotID: Bool { isAtLeast(0, 15) }
}
