import Foundation

/// A document signed with the account signing key (docs/sealing.md, "Signed manifests"): `body`
/// is base64 of the JSON the signer wrote (a ``JobManifest`` or ``DestinationManifest``),
/// `signature` base64 of the Ed25519 signature over `mzpanel-manifest/v1\n` followed by those
/// bytes. The hub stores and forwards it verbatim; agents verify it with the key they pinned.
public struct SignedManifest: Sendable, Codable, Equatable {
    public var body: String
    public var signature: String

    public init(body: String, signature: String) {
        self.body = body
        self.signature = signature
    }

    /// The body's bytes, or nil when it is not base64.
    public var bodyData: Data? { Data(base64Encoded: body) }

    /// The signed document's shape: base64 parts of sane sizes.
    public func validated(field: String = "manifest") throws(DomainError) -> SignedManifest {
        guard let data = bodyData, !data.isEmpty, data.count <= 64 * 1024 else {
            throw .invalid("\(field).body", "must be base64 of the signed JSON document (at most 64 KiB)")
        }
        guard Data(base64Encoded: signature)?.count == 64 else {
            throw .invalid("\(field).signature", "must be base64 of a 64-byte Ed25519 signature")
        }
        return self
    }

    /// The version inside the body, read without checking the signature (to number the next one).
    public var unverifiedVersion: Int64? {
        guard let data = bodyData else { return nil }
        return (try? JSONDecoder().decode(ManifestHeader.self, from: data))?.version
    }

    /// The number a new manifest after `previous` gets: the signer's clock in milliseconds, and
    /// always above the previous version, so agents can refuse an older one (a replay).
    public static func nextVersion(after previous: SignedManifest?, now: Date) -> Int64 {
        max(Int64(now.timeIntervalSince1970 * 1000), (previous?.unverifiedVersion ?? 0) + 1)
    }
}

/// A manifest body with its version (signers number versions by their clock; agents refuse an older one).
public protocol VersionedManifest: Decodable {
    var version: Int64 { get }
}

/// A manifest body that vouches for one thing (a job, a destination, a restore run) and can say
/// where that thing differs from what was signed.
public protocol SubjectManifest: VersionedManifest {
    associatedtype Subject
    /// The fields where `subject` differs from what was signed (empty: it is as signed).
    func differences(from subject: Subject) -> [String]
}

/// The fields every manifest body starts with.
public struct ManifestHeader: Sendable, Codable, Equatable {
    public var type: String
    public var version: Int64
    public var accountID: String
}

/// What a person decided about a job: where its data comes from and goes, when, and what is kept.
/// The job's name, its enabled switch and the hub-side health rules are not in it (they decide
/// nothing about where data goes).
public struct JobManifest: Sendable, Codable, Equatable, SubjectManifest {
    public static let type = "job"
    public var type: String
    public var version: Int64
    public var accountID: String
    public var serverID: String
    public var jobID: String
    public var kind: JobKind
    public var sources: JobSources
    public var schedule: Schedule
    public var retention: RetentionPolicy
    public var destinationIDs: [String]
    public var checkSubsets: Int?
    public var pingURL: String?
    /// The job's hook commands, policy and timeout (absent when the job has none).
    public var hooks: JobHooks?
    /// Retention per destination (absent when the job's own applies everywhere).
    public var destinationRetention: [DestinationRetention]?
    /// Scheduled restore drills (absent when the job has none, so older signatures still hold).
    public var drill: JobDrill?
    /// The backup window and spread (absent when the job has none, so older signatures still hold).
    public var window: BackupWindow?
    public var spreadSeconds: Int?

    public init(job: Job, version: Int64) {
        type = Self.type
        self.version = version
        accountID = job.accountID
        serverID = job.serverID
        jobID = job.id
        kind = job.kind
        sources = job.sources
        schedule = job.schedule
        retention = job.retention
        destinationIDs = job.destinationIDs
        checkSubsets = job.checkSubsets
        pingURL = job.pingURL
        hooks = job.hooks
        destinationRetention = job.destinationRetention
        drill = job.drill
        window = job.window
        spreadSeconds = job.spreadSeconds
    }

    /// The fields where `job` differs from what was signed (empty: the job is as signed).
    public func differences(from job: Job) -> [String] {
        let signed = JobManifest(job: job, version: version)
        var fields: [String] = []
        if type != Self.type { fields.append("type") }
        if accountID != signed.accountID { fields.append("account") }
        if serverID != signed.serverID { fields.append("server") }
        if jobID != signed.jobID { fields.append("job id") }
        if kind != signed.kind { fields.append("kind") }
        if sources != signed.sources { fields.append("sources") }
        if schedule != signed.schedule { fields.append("schedule") }
        if retention != signed.retention { fields.append("retention") }
        if destinationIDs != signed.destinationIDs { fields.append("destinations") }
        if checkSubsets != signed.checkSubsets { fields.append("check subsets") }
        if pingURL != signed.pingURL { fields.append("ping URL") }
        if hooks != signed.hooks { fields.append("hooks") }
        if destinationRetention != signed.destinationRetention { fields.append("retention per destination") }
        if drill != signed.drill { fields.append("drill") }
        if window != signed.window { fields.append("window") }
        if spreadSeconds != signed.spreadSeconds { fields.append("spread") }
        return fields
    }
}

/// What a person decided about a destination: its kind and every non-secret setting (endpoint,
/// bucket, prefix, path, peer server and address, quota).
public struct DestinationManifest: Sendable, Codable, Equatable, SubjectManifest {
    public static let type = "destination"
    public var type: String
    public var version: Int64
    public var accountID: String
    public var destinationID: String
    public var kind: DestinationKind
    public var settings: DestinationSettings

    public init(destination: Destination, version: Int64) {
        type = Self.type
        self.version = version
        accountID = destination.accountID
        destinationID = destination.id
        kind = destination.kind
        settings = destination.settings
    }

    public func differences(from destination: Destination) -> [String] {
        var fields: [String] = []
        if type != Self.type { fields.append("type") }
        if accountID != destination.accountID { fields.append("account") }
        if destinationID != destination.id { fields.append("destination id") }
        if kind != destination.kind { fields.append("kind") }
        if settings != destination.settings { fields.append("settings") }
        return fields
    }
}

/// Whether a job or destination carries a signature that still matches it, as people are told.
public enum ManifestState: String, Sendable, Codable, CaseIterable {
    /// The account has no signing key yet: agents run what the hub sends (trust mode off).
    case off
    /// Never signed: agents that pinned the account key refuse it.
    case unsigned
    /// Signed, but changed since (or the signature does not verify): agents refuse it.
    case changed
    /// Signed and unchanged.
    case signed
}
