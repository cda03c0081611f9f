import BackupCore
import Foundation
import LinkProtocol

/// `POST /api/v1/destinations`: a new destination.
public struct DestinationRequest: Codable, Sendable {
    public let name: String
    public let kind: String
    public let settings: DestinationSettings?
    /// At most this many runs at once across the account's servers (absent or 0: no cap).
    public let maxConcurrentRuns: Int?
    public init(name: String, kind: String, settings: DestinationSettings?, maxConcurrentRuns: Int? = nil) {
        self.maxConcurrentRuns = maxConcurrentRuns
        self.name = name
        self.kind = kind
        self.settings = settings
    }
}

/// `PATCH /api/v1/destinations/{destination}`: what changes.
public struct DestinationUpdate: Codable, Sendable {
    public let name: String?
    public let kind: String?
    public let settings: DestinationSettings?
    public let credentialKey: DestinationKeyRecord?
    /// At most this many runs at once across the account's servers (0 removes the cap).
    public let maxConcurrentRuns: Int?
    public init(
        name: String? = nil, kind: String? = nil, settings: DestinationSettings? = nil, credentialKey: DestinationKeyRecord? = nil,
        maxConcurrentRuns: Int? = nil
    ) {
        self.maxConcurrentRuns = maxConcurrentRuns
        self.name = name
        self.kind = kind
        self.settings = settings
        self.credentialKey = credentialKey
    }
}

/// A destination with the jobs writing to it, the servers it is sealed to and a peer's report (flattened).
public struct DestinationView: Codable, Sendable {
    public let destination: Destination
    public let jobs: [JobReference]
    public let sealedTo: [String]
    /// Peer destinations: the storage server's latest report.
    public let peer: PeerReport?
    /// Whether the destination carries a signature that still matches it (docs/sealing.md).
    public let manifestState: ManifestState?

    public init(destination: Destination, jobs: [JobReference], sealedTo: [String], peer: PeerReport?, manifestState: ManifestState? = nil) {
        self.destination = destination
        self.manifestState = manifestState
        self.jobs = jobs
        self.sealedTo = sealedTo
        self.peer = peer
    }

    public init(from decoder: any Decoder) throws {
        destination = try Destination(from: decoder)
        let container = try decoder.container(keyedBy: Keys.self)
        jobs = try container.decode([JobReference].self, forKey: .jobs)
        sealedTo = try container.decode([String].self, forKey: .sealedTo)
        peer = try container.decodeIfPresent(PeerReport.self, forKey: .peer)
        manifestState = try container.decodeIfPresent(ManifestState.self, forKey: .manifestState)
    }

    public func encode(to encoder: any Encoder) throws {
        try destination.encode(to: encoder)
        var container = encoder.container(keyedBy: Keys.self)
        try container.encode(jobs, forKey: .jobs)
        try container.encode(sealedTo, forKey: .sealedTo)
        try container.encodeIfPresent(peer, forKey: .peer)
        try container.encodeIfPresent(manifestState, forKey: .manifestState)
    }
    enum Keys: String, CodingKey { case jobs, sealedTo, peer, manifestState }
}

/// A job named by id and name.
public struct JobReference: Codable, Sendable {
    public let id: String
    public let name: String
    public init(id: String, name: String) {
        self.id = id
        self.name = name
    }
}

/// The account's destinations.
public struct DestinationList: Codable, Sendable {
    public let destinations: [Destination]
    public init(destinations: [Destination]) { self.destinations = destinations }
}

/// `PUT /api/v1/destinations/{destination}/envelopes/{server}`: a destination's credentials sealed to one server.
public struct EnvelopeRequest: Codable, Sendable {
    public let keyID: String
    public let version: Int
    /// base64
    public let ciphertext: String
    /// Peer destinations: the source server's htpasswd line (`<server id>:{SHA}<base64>`).
    public let peerLogin: String?
    /// Peer destinations, recovery: a new htpasswd line for a lost server of the account,
    /// whose password is sealed to this server (`<lost server id>:{SHA}<base64>`).
    public let recoveryLogin: String?
    public init(keyID: String, version: Int, ciphertext: String, peerLogin: String?, recoveryLogin: String? = nil) {
        self.keyID = keyID
        self.version = version
        self.ciphertext = ciphertext
        self.peerLogin = peerLogin
        self.recoveryLogin = recoveryLogin
    }
}

/// A destination's sealed envelopes.
public struct EnvelopeList: Codable, Sendable {
    public let envelopes: [SealedEnvelope]
    public init(envelopes: [SealedEnvelope]) { self.envelopes = envelopes }
}
