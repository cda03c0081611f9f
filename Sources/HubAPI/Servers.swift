import BackupCore
import Foundation

/// `POST /api/v1/servers`: a new server's name.
public struct ServerRequest: Codable, Sendable {
    public let name: String
    public init(name: String) { self.name = name }
}

/// `PATCH /api/v1/servers/{server}`: a new name.
public struct ServerUpdate: Codable, Sendable {
    public let name: String?
    /// At most this many runs at once on the server (0 removes the cap).
    public let maxConcurrentRuns: Int?
    public init(name: String?, maxConcurrentRuns: Int? = nil) {
        self.name = name
        self.maxConcurrentRuns = maxConcurrentRuns
    }
}

/// One page of servers.
public struct ServerList: Codable, Sendable {
    public let servers: [ServerView]
    public let nextCursor: String?
    public init(servers: [ServerView], nextCursor: String?) {
        self.servers = servers
        self.nextCursor = nextCursor
    }
}

/// A server with whether its agent is online now (the server's fields, flattened).
public struct ServerView: Codable, Sendable {
    public let server: Server
    public let online: Bool
    /// The worst of its jobs' health, or its link's (the same values the hub page shows).
    public let health: ServerHealth?
    /// Whether its agent runs none of the builds the hub serves (nil: no build served, or never enrolled).
    public let agentOutdated: Bool?

    public init(_ server: Server, now: Date, health: ServerHealth? = nil, agentOutdated: Bool? = nil) {
        self.server = server
        online = server.isOnline(now: now)
        self.health = health
        self.agentOutdated = agentOutdated
    }

    public init(from decoder: any Decoder) throws {
        server = try Server(from: decoder)
        let container = try decoder.container(keyedBy: Keys.self)
        online = try container.decode(Bool.self, forKey: .online)
        health = try container.decodeIfPresent(ServerHealth.self, forKey: .health)
        agentOutdated = try container.decodeIfPresent(Bool.self, forKey: .agentOutdated)
    }

    public func encode(to encoder: any Encoder) throws {
        try server.encode(to: encoder)
        var container = encoder.container(keyedBy: Keys.self)
        try container.encode(online, forKey: .online)
        try container.encodeIfPresent(health, forKey: .health)
        try container.encodeIfPresent(agentOutdated, forKey: .agentOutdated)
    }
    enum Keys: String, CodingKey { case online, health, agentOutdated }
}

/// `POST /api/v1/servers/{server}/upgrade`: the upgrade the agent was sent.
public struct AgentUpgradeStarted: Codable, Sendable {
    public let serverID: String
    public let commandID: String
    /// The version the agent reports now.
    public let fromVersion: String?
    /// The build id it is to run (the first 12 hex digits of the build's SHA-256).
    public let toBuildID: String
    public init(serverID: String, commandID: String, fromVersion: String?, toBuildID: String) {
        self.serverID = serverID
        self.commandID = commandID
        self.fromVersion = fromVersion
        self.toBuildID = toBuildID
    }
}

/// `POST /api/v1/servers/{server}/enrollment-tokens`: how long the token lives (default one day).
public struct EnrollmentRequest: Codable, Sendable {
    public let expiresInSeconds: Int?
    public init(expiresInSeconds: Int?) { self.expiresInSeconds = expiresInSeconds }
}

/// A new enrollment token, its secret (shown once) and the command to run on the server.
public struct EnrollmentCreated: Codable, Sendable {
    public let enrollmentToken: EnrollmentToken
    /// The token itself, shown once.
    public let secret: String
    /// The command to run on the server where the agent is already installed.
    public let command: String
    /// The one-liner that installs the agent from the hub (`curl -fsSL HUB/install.sh | sudo sh`) and asks for the token.
    public let installCommand: String
    /// The one-liner for a hub certificate from a private CA (`curl --cacert ca.pem … | sudo sh -s -- --ca-file ca.pem`); https hubs only.
    public let privateCAInstallCommand: String?
    public init(enrollmentToken: EnrollmentToken, secret: String, command: String, installCommand: String, privateCAInstallCommand: String? = nil) {
        self.privateCAInstallCommand = privateCAInstallCommand
        self.enrollmentToken = enrollmentToken
        self.secret = secret
        self.command = command
        self.installCommand = installCommand
    }
}

/// A new server with its first enrollment token.
public struct ServerCreated: Codable, Sendable {
    public let server: Server
    public let enrollment: EnrollmentCreated
    public init(server: Server, enrollment: EnrollmentCreated) {
        self.server = server
        self.enrollment = enrollment
    }
}

/// A server's enrollment tokens.
public struct EnrollmentList: Codable, Sendable {
    public let enrollmentTokens: [EnrollmentToken]
    public init(enrollmentTokens: [EnrollmentToken]) { self.enrollmentTokens = enrollmentTokens }
}

/// A removed server and the destinations whose credentials it could open.
public struct ServerDeleted: Codable, Sendable {
    public let deleted: Bool
    /// Destinations whose credentials that server could open: rotate their provider keys.
    public let exposedDestinations: [Destination]
    public init(exposedDestinations: [Destination]) {
        deleted = true
        self.exposedDestinations = exposedDestinations
    }
}

/// `PUT /api/v1/servers/{server}/certificate`: the account's certificate of the server's key
/// (docs/sealing.md), made in the browser or CLI with the signing key from the vault, and the
/// fingerprint of the key it certifies (a key that changed meanwhile is refused).
public struct CertificateRequest: Codable, Sendable {
    public let certificate: String
    public let keyFingerprint: String
    public init(certificate: String, keyFingerprint: String) {
        self.certificate = certificate
        self.keyFingerprint = keyFingerprint
    }
}

/// `DELETE /api/v1/servers/{server}/certificate`: the server, no longer certified, and the
/// destinations whose credentials its agent can still open (rotate them).
public struct CertificateRevoked: Codable, Sendable {
    public let server: Server
    public let exposedDestinations: [Destination]
    public init(server: Server, exposedDestinations: [Destination]) {
        self.server = server
        self.exposedDestinations = exposedDestinations
    }
}
