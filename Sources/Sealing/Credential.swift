import BackupCore
import Foundation

/// A destination's secret fields (docs/sealing.md, "Credential box"): the restic repository
/// password plus the provider's keys. Exists in plaintext only in the sealing client and, for
/// the length of a run, in the agent.
public struct DestinationCredential: Sendable, Equatable {
    public var fields: [String: String]

    public init(fields: [String: String]) { self.fields = fields }

    public var repositoryPassword: String? { fields["repositoryPassword"] }

    /// At most this many former repository passwords travel in a rotated credential.
    public static let formerPasswordLimit = 5

    /// The passwords the repositories had before `destinations rotate` (newest first): agents
    /// replace a repository key that only one of them opens (docs/sealing.md, "Rotating a
    /// destination"). One field, one password a line.
    public var formerRepositoryPasswords: [String] {
        (fields["formerRepositoryPasswords"] ?? "").split(separator: "\n").map(String.init).filter { !$0.isEmpty }
    }

    /// This credential with a new repository password; the current one leads the former ones.
    public func rotatingRepositoryPassword(to newPassword: String) -> DestinationCredential {
        var rotated = self
        let former = ([repositoryPassword].compactMap { $0 } + formerRepositoryPasswords).filter { !$0.isEmpty && $0 != newPassword }
        var seen: Set<String> = []
        let kept = former.filter { seen.insert($0).inserted }.prefix(Self.formerPasswordLimit)
        rotated.fields["repositoryPassword"] = newPassword
        rotated.fields["formerRepositoryPasswords"] = kept.joined(separator: "\n")
        return rotated
    }

    /// The members each kind needs besides `repositoryPassword`.
    public static func requiredFields(for kind: DestinationKind) -> [String] {
        switch kind {
        case .local, .peer: []
        case .s3: ["accessKeyID", "secretAccessKey"]
        case .b2: ["accountID", "accountKey"]
        case .rclone: ["rcloneConfig"]
        }
    }

    /// Throws naming the first missing or empty member.
    public func validate(for kind: DestinationKind) throws {
        for name in ["repositoryPassword"] + Self.requiredFields(for: kind) where (fields[name] ?? "").isEmpty {
            throw SealingError.invalid("a \(kind.rawValue) credential needs \(name)")
        }
    }

    func json() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return try encoder.encode(fields)
    }

    static func decode(_ data: Data) throws -> DestinationCredential {
        guard let fields = try? JSONDecoder().decode([String: String].self, from: data) else { throw SealingError.cannotOpen }
        return DestinationCredential(fields: fields)
    }
}
