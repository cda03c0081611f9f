import Foundation

/// The repository care settings of a destination (docs/operations.md, "Repository care"): what a
/// prune job passes to `restic prune`, and how long any operation waits for another's lock.
public enum RepositoryCare {
    /// A lock wait: 0 (fail at once) to one day, in seconds.
    public static let lockWaitRange = 0...86_400
    /// The lock wait when a destination sets none: long enough for a weekly prune of a mid-sized repository.
    public static let defaultLockWaitSeconds = 600

    /// The seconds an operation at `settings` waits for a lock.
    public static func lockWait(_ settings: DestinationSettings) -> Int { settings.lockWaitSeconds ?? defaultLockWaitSeconds }

    static func validate(_ given: DestinationSettings, into clean: inout DestinationSettings, kind: DestinationKind) throws(DomainError) {
        if let text = given.pruneMaxUnused?.trimmingSpaces, !text.isEmpty {
            guard kind != .peer else { throw peerRefusal("pruneMaxUnused") }
            clean.pruneMaxUnused = try maxUnused(text)
        }
        if let text = given.pruneMaxRepackSize?.trimmingSpaces, !text.isEmpty {
            guard kind != .peer else { throw peerRefusal("pruneMaxRepackSize") }
            clean.pruneMaxRepackSize = try maxRepackSize(text)
        }
        if let seconds = given.lockWaitSeconds {
            guard lockWaitRange.contains(seconds) else {
                throw .invalid(
                    "lockWaitSeconds",
                    "\(seconds) s is outside 0 to 86400 (one day); give seconds such as 600, or 0 to fail at once when the repository is locked")
            }
            clean.lockWaitSeconds = seconds
        }
    }

    private static func peerRefusal(_ field: String) -> DomainError {
        .invalid(field, "a peer destination is append-only for its source servers, so they cannot prune it; leave \(field) out")
    }

    /// restic's `--max-unused`: a percentage (`5%`, 0–100), a size (`2GiB`, `500M`) or `unlimited`.
    public static func maxUnused(_ text: String) throws(DomainError) -> String {
        let lower = text.lowercased()
        if lower == "unlimited" { return lower }
        if lower.hasSuffix("%") {
            let number = lower.dropLast()
            if let value = Double(number), value >= 0, value <= 100, !number.isEmpty, number.allSatisfy({ $0.isNumber || $0 == "." }) {
                return "\(number)%"
            }
        } else if let bytes = ByteSize.parse(lower), bytes >= 0 {
            return "\(bytes)"
        }
        throw .invalid(
            "pruneMaxUnused", "\"\(text.prefix(40))\" is not a --max-unused value; give a percentage (5%), a size (2GiB) or unlimited")
    }

    /// restic's `--max-repack-size`: a size of at least 1 MiB (`2GiB`, `500M`), kept in bytes.
    public static func maxRepackSize(_ text: String) throws(DomainError) -> String {
        guard let bytes = ByteSize.parse(text), bytes >= 1 << 20 else {
            throw .invalid(
                "pruneMaxRepackSize",
                "\"\(text.prefix(40))\" is not a size of at least 1 MiB; give a size such as 2GiB or 500MiB, or leave it out for no limit")
        }
        return "\(bytes)"
    }
}
