import Foundation

/// Where backups are stored: a kind plus its non-secret settings. Credentials never live here;
/// they travel as sealed envelopes per (destination, server).
public enum DestinationKind: String, Sendable, Codable, CaseIterable {
    case local, s3, b2, rclone, peer

    /// Offsite kinds need the Plus plan.
    public var isOffsite: Bool { self != .local }

    public var title: String {
        switch self {
        case .local: "Local"
        case .s3: "S3-compatible object storage"
        case .b2: "Backblaze B2"
        case .rclone: "rclone remote"
        case .peer: "Peer server"
        }
    }
}

/// The non-secret settings of a destination. Which fields apply depends on the kind.
public struct DestinationSettings: Sendable, Codable, Equatable {
    /// `local`: absolute directory on the server; repositories are `<path>/<server id>`.
    /// `peer`: directory on the storage server (default /var/backups/mzpanel-peer/<destination id>).
    public var path: String?
    /// `s3`: endpoint URL (`https://s3.eu-central-1.amazonaws.com`, an R2 or MinIO URL…).
    public var endpoint: String?
    /// `s3`, `b2`: bucket name.
    public var bucket: String?
    /// `s3`, `b2`, `rclone`: folder inside the bucket or remote.
    public var prefix: String?
    /// `s3`: region.
    public var region: String?
    /// `s3`: path-style addressing (MinIO and most self-hosted servers need it).
    public var pathStyle: Bool?
    /// `rclone`: the remote's name in the sealed rclone configuration.
    public var remote: String?
    /// `peer`: the id of the account's server that stores the backups.
    public var peerServerID: String?
    /// `peer`: `host:port` where source servers reach the storage server's restic REST server.
    public var peerAddress: String?
    /// `peer`: how many bytes each source server may store; a source over it makes no new
    /// backups there (retention still runs, to free space) until it is under again.
    public var quotaBytes: Int64?
    /// Every kind: restic's upload limit in KiB/s (`--limit-upload`) for backups, checks and
    /// retention at this destination (nil: none).
    public var limitUploadKiB: Int?
    /// Every kind: restic's download limit in KiB/s (`--limit-download`), for restores, listings and downloads too.
    public var limitDownloadKiB: Int?
    /// `rclone`: rclone's `--bwlimit` time table, e.g. `08:00,512k 19:00,off` (rclone's own format).
    public var bandwidthSchedule: String?
    /// Every kind but peer: restic prune's `--max-unused` for prune jobs here (`5%`, `2GiB`, `unlimited`; nil: restic's 5%).
    public var pruneMaxUnused: String?
    /// Every kind but peer: restic prune's `--max-repack-size` (`2GiB`; nil: no limit), which bounds one prune's work.
    public var pruneMaxRepackSize: String?
    /// Every kind: how long a backup, forget or prune waits for a lock another operation holds on
    /// the repository (a prune's exclusive lock) before it fails, in seconds (nil: 10 minutes).
    public var lockWaitSeconds: Int?

    public init(
        path: String? = nil, endpoint: String? = nil, bucket: String? = nil, prefix: String? = nil,
        region: String? = nil, pathStyle: Bool? = nil, remote: String? = nil, peerServerID: String? = nil,
        peerAddress: String? = nil, quotaBytes: Int64? = nil, limitUploadKiB: Int? = nil, limitDownloadKiB: Int? = nil,
        bandwidthSchedule: String? = nil, pruneMaxUnused: String? = nil, pruneMaxRepackSize: String? = nil, lockWaitSeconds: Int? = nil
    ) {
        self.pruneMaxUnused = pruneMaxUnused
        self.pruneMaxRepackSize = pruneMaxRepackSize
        self.lockWaitSeconds = lockWaitSeconds
        self.limitUploadKiB = limitUploadKiB
        self.limitDownloadKiB = limitDownloadKiB
        self.bandwidthSchedule = bandwidthSchedule
        self.path = path
        self.endpoint = endpoint
        self.bucket = bucket
        self.prefix = prefix
        self.region = region
        self.pathStyle = pathStyle
        self.remote = remote
        self.peerServerID = peerServerID
        self.peerAddress = peerAddress
        self.quotaBytes = quotaBytes
    }
}

public struct Destination: Sendable, Codable, Equatable {
    public var id: String
    public var accountID: String
    public var name: String
    public var kind: DestinationKind
    public var settings: DestinationSettings
    /// The destination's data key wrapped under the account vault, and its credential box
    /// (docs/sealing.md). Nil for local destinations and offsite ones not yet given a credential.
    public var credentialKey: DestinationKeyRecord?
    public var createdAt: Date
    public var updatedAt: Date
    /// The kind and settings as a person signed them with the account key (nil: never signed).
    public var manifest: SignedManifest?
    /// At most this many runs use the destination at once, across all servers of the account (nil:
    /// no cap). A hub-side setting, not signed: it decides when, not where, data goes.
    public var maxConcurrentRuns: Int?

    public init(
        id: String, accountID: String, name: String, kind: DestinationKind, settings: DestinationSettings,
        credentialKey: DestinationKeyRecord? = nil, createdAt: Date, updatedAt: Date, manifest: SignedManifest? = nil,
        maxConcurrentRuns: Int? = nil
    ) {
        self.maxConcurrentRuns = maxConcurrentRuns
        self.id = id
        self.accountID = accountID
        self.name = name
        self.kind = kind
        self.settings = settings
        self.credentialKey = credentialKey
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.manifest = manifest
    }
}

/// Sizes as people write them: `500MiB`, `50GB`, `1.5T`, `1048576` (bytes). Binary and decimal
/// units are both accepted (`G`/`GiB` = 2^30, `GB` = 10^9).
public enum ByteSize {
    public static func parse(_ text: String) -> Int64? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        let number = trimmed.prefix { $0.isNumber || $0 == "." }
        let unit = trimmed.dropFirst(number.count).trimmingCharacters(in: .whitespaces).lowercased()
        guard let value = Double(number), value >= 0 else { return nil }
        let units: [String: Double] = [
            "": 1, "b": 1, "k": 1024, "kib": 1024, "kb": 1e3, "m": Double(1 << 20), "mib": Double(1 << 20), "mb": 1e6,
            "g": Double(1 << 30), "gib": Double(1 << 30), "gb": 1e9, "t": Double(1 << 40), "tib": Double(1 << 40), "tb": 1e12,
        ]
        guard let factor = units[unit] else { return nil }
        let bytes = value * factor
        return bytes < Double(Int64.max) ? Int64(bytes) : nil
    }
}

/// Concurrency caps (docs/schedules.md, "Windows, spread and concurrency").
public enum ConcurrencyCap {
    public static let maximum = 1000

    /// A cap from a request: 1–1000, or 0 for none (nil).
    public static func validated(_ value: Int?, field: String) throws(DomainError) -> Int? {
        guard let value, value != 0 else { return nil }
        guard value >= 1, value <= maximum else {
            throw .invalid(field, "\(value) is not a cap on concurrent runs; give 1 to \(maximum), or 0 for no cap")
        }
        return value
    }
}
