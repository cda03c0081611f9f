import BackupCore
import Foundation
import HubAPI
import LinkProtocol
import TrustedHTTP

/// The agent's state directory (default `/var/lib/mzpanel-agent`, 0700):
///
/// ```
/// identity.json                        server id, account id, server name, hub URL
/// settings.json                        systemd directory, timer delay
/// credential                     0600  the agent credential (Authorization: Agent …)
/// server.key                     0600  X25519 private key (raw 32 bytes, base64)
/// jobs.json                      0600  the last AgentJobSet from the hub
/// history.json                   0600  the last 20 finished runs
/// repository-passwords/<dst>     0600  restic password of each local destination (agent-generated)
/// outbox/<event>.json                  events not yet acknowledged by the hub
/// slots/<job>/<slot ms>                slot claims (UNIQUE(job, slot))
/// running/<run>.json                   runs in progress (run, pid, start)
/// locks/                               per-repository and file locks
/// repositories/<sha256>                repositories seen by an earlier run (RepositoryMemory)
/// ```
///
/// Why files and not SQLite: the agent must stay small (no NIO, no SQLite driver, idle RSS ≤ 30 MiB)
/// and the few guarantees the state needs map directly onto POSIX primitives. A durable outbox is
/// one file per event written to a temporary name, fsynced and renamed (atomic on POSIX), deleted
/// only after the hub acknowledges its id. UNIQUE(job, slot) is `open(O_CREAT|O_EXCL)` of
/// `slots/<job>/<slot>`: the kernel lets exactly one process create it, across processes, which is
/// what a timer run and a hub-triggered run racing for one slot need. Read-modify-write files
/// (history) are guarded by `flock`. Nothing needs queries or joins.
public struct AgentState: Sendable {
    public static let defaultDirectory = "/var/lib/mzpanel-agent"

    public let directory: String

    public init(directory: String = AgentState.defaultDirectory) {
        var path = directory
        while path.count > 1 && path.hasSuffix("/") { path.removeLast() }
        if !path.hasPrefix("/") {
            path = FileManager.default.currentDirectoryPath + "/" + path
        }
        self.directory = path
    }

    public var identityFile: String { directory + "/identity.json" }
    public var settingsFile: String { directory + "/settings.json" }
    public var credentialFile: String { directory + "/credential" }
    public var serverKeyFile: String { directory + "/server.key" }
    public var jobsFile: String { directory + "/jobs.json" }
    public var historyFile: String { directory + "/history.json" }
    public var passwordsDirectory: String { directory + "/repository-passwords" }
    public var outboxDirectory: String { directory + "/outbox" }
    public var slotsDirectory: String { directory + "/slots" }
    public var runningDirectory: String { directory + "/running" }
    public var locksDirectory: String { directory + "/locks" }
    /// The hub's certificate authority (PEM), copied here by `enroll --ca-file`: the only one trusted for the hub.
    public var hubCAFile: String { directory + "/hub-ca.pem" }

    /// The authorities the hub's certificate must chain to: the stored CA file, else the system's.
    public var hubTrust: HubTrust {
        FileManager.default.fileExists(atPath: hubCAFile) ? HubTrust(caFile: hubCAFile) : .system
    }

    public var outbox: Outbox { Outbox(directory: outboxDirectory) }
    public var slots: SlotClaims { SlotClaims(directory: slotsDirectory) }
    public var running: RunningRegistry { RunningRegistry(directory: runningDirectory) }
    public var history: RunHistory { RunHistory(file: historyFile, lockFile: locksDirectory + "/history.lock") }

    /// Creates the directory tree (0700 everywhere).
    public func prepare() throws {
        try SecureFile.makeDirectory(directory)
        for sub in [passwordsDirectory, outboxDirectory, slotsDirectory, runningDirectory, locksDirectory] {
            try SecureFile.makeDirectory(sub)
        }
    }

    public var isEnrolled: Bool {
        FileManager.default.fileExists(atPath: identityFile) && FileManager.default.fileExists(atPath: credentialFile)
    }

    // MARK: Identity and credential

    public func saveIdentity(_ identity: AgentIdentity) throws {
        try SecureFile.write(try Self.encode(identity), to: identityFile, mode: 0o600)
    }

    public func loadIdentity() throws -> AgentIdentity {
        guard let data = try SecureFile.read(identityFile) else {
            throw AgentError(
                "this agent is not enrolled (no \(identityFile)); run `mzpanel-agent enroll --url HUB_URL --token TOKEN\(stateFlag)` with a token from `mzpanel servers add`"
            )
        }
        return try Self.decode(AgentIdentity.self, from: data, file: identityFile)
    }

    public func saveCredential(_ credential: String) throws {
        try SecureFile.write(Data((credential + "\n").utf8), to: credentialFile, mode: 0o600)
    }

    public func loadCredential() throws -> String {
        guard let data = try SecureFile.read(credentialFile) else {
            throw AgentError("no agent credential in \(directory); enroll again with `mzpanel-agent enroll --force …`")
        }
        let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard !text.isEmpty else {
            throw AgentError("the agent credential file \(credentialFile) is empty; enroll again with `mzpanel-agent enroll --force …`")
        }
        return text
    }

    // MARK: Settings

    public func saveSettings(_ settings: AgentSettings) throws {
        try SecureFile.write(try Self.encode(settings), to: settingsFile, mode: 0o600)
    }

    /// The saved settings, or the defaults.
    public func loadSettings() throws -> AgentSettings {
        guard let data = try SecureFile.read(settingsFile) else { return AgentSettings() }
        return try Self.decode(AgentSettings.self, from: data, file: settingsFile)
    }

    // MARK: Jobs

    public func saveJobs(_ jobs: AgentJobSet) throws {
        try SecureFile.write(try Self.encode(jobs), to: jobsFile, mode: 0o600)
    }

    /// The last job set from the hub, or nil before the first sync.
    public func loadJobs() throws -> AgentJobSet? {
        guard let data = try SecureFile.read(jobsFile) else { return nil }
        return try Self.decode(AgentJobSet.self, from: data, file: jobsFile)
    }

    // MARK: Repository passwords

    /// The password file of a local destination's repository, created (32 random bytes, base64,
    /// 0600) the first time. restic reads it through RESTIC_PASSWORD_FILE.
    public func repositoryPasswordFile(destinationID: String) throws -> String {
        try SafeName.check(destinationID, what: "destination id")
        try SecureFile.makeDirectory(passwordsDirectory)
        let path = passwordsDirectory + "/" + destinationID
        if FileManager.default.fileExists(atPath: path) { return path }
        var bytes = [UInt8](repeating: 0, count: 32)
        var generator = SystemRandomNumberGenerator()
        for index in bytes.indices { bytes[index] = generator.next() }
        let password = Data(bytes).base64EncodedString()
        // O_EXCL: if two runs create it at once, the first one wins and both use its password.
        _ = try SecureFile.createExclusive(path, contents: Data((password + "\n").utf8), mode: 0o600)
        return path
    }

    // MARK: Encoding

    var stateFlag: String { directory == Self.defaultDirectory ? "" : " --state-dir \(directory)" }

    static func encode<T: Encodable>(_ value: T) throws -> Data {
        let encoder = HubJSON.encoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        return try encoder.encode(value)
    }

    static func decode<T: Decodable>(_ type: T.Type, from data: Data, file: String) throws -> T {
        do {
            return try HubJSON.decoder().decode(type, from: data)
        } catch {
            throw AgentError("\(file) is damaged (\(error)); remove it and run `mzpanel-agent daemon` to fetch it again, or enroll again")
        }
    }
}

/// Ids used as file names must not escape their directory.
enum SafeName {
    static func isSafe(_ name: String) -> Bool {
        !name.isEmpty && name.count <= 128 && name.first != "."
            && name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == "-") }
    }

    static func check(_ name: String, what: String) throws {
        guard isSafe(name) else {
            throw AgentError("\"\(name)\" is not a valid \(what) (letters, digits, '_' and '-' only); check the job set from the hub")
        }
    }
}
