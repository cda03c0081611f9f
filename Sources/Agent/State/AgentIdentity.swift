/// Who this agent is, as the hub told it at enrollment (no secret: the credential is a separate file).
public struct AgentIdentity: Codable, Sendable, Equatable {
    public var serverID: String
    public var accountID: String
    public var serverName: String
    public var hubURL: String

    public init(serverID: String, accountID: String, serverName: String, hubURL: String) {
        self.serverID = serverID
        self.accountID = accountID
        self.serverName = serverName
        self.hubURL = hubURL
    }
}

/// Local choices made at enrollment that later commands (the daemon rewriting timers) reuse.
public struct AgentSettings: Codable, Sendable, Equatable {
    /// Where timer units go; nil = no systemd units (the daemon fires slots itself).
    public var systemdDirectory: String?
    /// `RandomizedDelaySec=` of the timers.
    public var randomizedDelaySeconds: Int

    public static let defaultSystemdDirectory = "/etc/systemd/system"

    public init(systemdDirectory: String? = AgentSettings.defaultSystemdDirectory, randomizedDelaySeconds: Int = 60) {
        self.systemdDirectory = systemdDirectory
        self.randomizedDelaySeconds = randomizedDelaySeconds
    }
}
