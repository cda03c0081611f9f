import Foundation

/// A machine of the account whose agent runs backups. It exists before its agent enrolls so
/// jobs can be prepared; enrollment fills in its public key.
public struct Server: Sendable, Codable, Equatable {
    public var id: String
    public var accountID: String
    public var name: String
    /// The agent's X25519 public key (base64), set at enrollment; credentials are sealed to it.
    public var publicKey: String?
    /// The key's fingerprint as the agent prints it (`mzpanel-agent fingerprint`).
    public var keyFingerprint: String?
    /// The account's certificate of `publicKey` (docs/sealing.md, "Server certificates"): clients
    /// seal only to a key whose certificate verifies under the signing key in their vault.
    public var certificate: String?
    public var agentVersion: String?
    public var enrolledAt: Date?
    public var lastSeenAt: Date?
    public var createdAt: Date
    /// What the agent reported it can do beyond the basics (`AgentCapability`), e.g. `hub-backup`.
    public var capabilities: [String]
    /// At most this many runs at once on the server (nil: no cap). Enforced on the box.
    public var maxConcurrentRuns: Int?

    public init(
        id: String, accountID: String, name: String, publicKey: String? = nil, keyFingerprint: String? = nil, certificate: String? = nil,
        agentVersion: String? = nil, enrolledAt: Date? = nil, lastSeenAt: Date? = nil, createdAt: Date, capabilities: [String] = [],
        maxConcurrentRuns: Int? = nil
    ) {
        self.maxConcurrentRuns = maxConcurrentRuns
        self.capabilities = capabilities
        self.id = id
        self.accountID = accountID
        self.name = name
        self.publicKey = publicKey
        self.keyFingerprint = keyFingerprint
        self.certificate = certificate
        self.agentVersion = agentVersion
        self.enrolledAt = enrolledAt
        self.lastSeenAt = lastSeenAt
        self.createdAt = createdAt
    }
}

extension Server {
    /// Decodes a server; `capabilities` may be missing (a hub from before capabilities).
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            id: try c.decode(String.self, forKey: .id), accountID: try c.decode(String.self, forKey: .accountID),
            name: try c.decode(String.self, forKey: .name), publicKey: try c.decodeIfPresent(String.self, forKey: .publicKey),
            keyFingerprint: try c.decodeIfPresent(String.self, forKey: .keyFingerprint),
            certificate: try c.decodeIfPresent(String.self, forKey: .certificate),
            agentVersion: try c.decodeIfPresent(String.self, forKey: .agentVersion),
            enrolledAt: try c.decodeIfPresent(Date.self, forKey: .enrolledAt), lastSeenAt: try c.decodeIfPresent(Date.self, forKey: .lastSeenAt),
            createdAt: try c.decode(Date.self, forKey: .createdAt), capabilities: try c.decodeIfPresent([String].self, forKey: .capabilities) ?? [],
            maxConcurrentRuns: try c.decodeIfPresent(Int.self, forKey: .maxConcurrentRuns))
    }
}

/// A one-time, short-lived secret that lets an agent enroll as a given server.
public struct EnrollmentToken: Sendable, Codable, Equatable {
    public var id: String
    public var accountID: String
    public var serverID: String
    public var createdAt: Date
    public var expiresAt: Date
    public var usedAt: Date?

    public init(id: String, accountID: String, serverID: String, createdAt: Date, expiresAt: Date, usedAt: Date? = nil) {
        self.id = id
        self.accountID = accountID
        self.serverID = serverID
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.usedAt = usedAt
    }

    /// Default lifetime of an enrollment token, and the bounds a caller may choose within.
    public static let defaultLifetimeSeconds = 3600
    public static let lifetimeRange = 60...(7 * 24 * 3600)

    public static func validatedLifetime(_ seconds: Int?) throws(DomainError) -> Int {
        let value = seconds ?? defaultLifetimeSeconds
        guard lifetimeRange.contains(value) else {
            throw .invalid("expiresInSeconds", "\(value) s is out of range; an enrollment token lives from 60 s to 7 days (604800 s)")
        }
        return value
    }
}

/// A destination credential sealed to one server's key. The hub stores and forwards it and
/// cannot open it: to the hub it is opaque bytes.
public struct SealedEnvelope: Sendable, Codable, Equatable {
    public var accountID: String
    public var destinationID: String
    public var serverID: String
    /// Which of the server's keys it was sealed to (the key fingerprint).
    public var keyID: String
    /// The envelope format version.
    public var version: Int
    public var ciphertext: Data
    /// For a peer destination: the source server's htpasswd line (`user:{SHA}…`) for the storage
    /// server. A one-way hash of a 256-bit random password; the password is inside the envelope.
    public var peerLogin: String?
    /// Peer destinations, disaster recovery: a fresh login as a lost server (its user), whose
    /// password is sealed in this envelope, so this server can read the lost server's repository.
    /// It replaces the lost server's own line on the storage server.
    public var recoveryLogin: String?
    public var createdAt: Date

    public init(
        accountID: String, destinationID: String, serverID: String, keyID: String, version: Int, ciphertext: Data,
        peerLogin: String? = nil, recoveryLogin: String? = nil, createdAt: Date
    ) {
        self.accountID = accountID
        self.destinationID = destinationID
        self.serverID = serverID
        self.keyID = keyID
        self.version = version
        self.ciphertext = ciphertext
        self.peerLogin = peerLogin
        self.recoveryLogin = recoveryLogin
        self.createdAt = createdAt
    }

    /// The largest envelope accepted: credentials are small; 64 KiB leaves room for rclone configurations.
    public static let maxCiphertextBytes = 64 * 1024
}
