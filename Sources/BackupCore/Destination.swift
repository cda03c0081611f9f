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

    public init(
        path: String? = nil, endpoint: String? = nil, bucket: String? = nil, prefix: String? = nil,
        region: String? = nil, pathStyle: Bool? = nil, remote: String? = nil, peerServerID: String? = nil,
        peerAddress: String? = nil
    ) {
        self.path = path
        self.endpoint = endpoint
        self.bucket = bucket
        self.prefix = prefix
        self.region = region
        self.pathStyle = pathStyle
        self.remote = remote
        self.peerServerID = peerServerID
        self.peerAddress = peerAddress
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

    public init(
        id: String, accountID: String, name: String, kind: DestinationKind, settings: DestinationSettings,
        credentialKey: DestinationKeyRecord? = nil, createdAt: Date, updatedAt: Date
    ) {
        self.id = id
        self.accountID = accountID
        self.name = name
        self.kind = kind
        self.settings = settings
        self.credentialKey = credentialKey
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}
