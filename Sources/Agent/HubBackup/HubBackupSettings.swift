import BackupCore
import Foundation

/// What this box allowed for hub backups (`mzpanel-agent hub-backup enable`), in
/// `<state>/hub-backup.json` (0600). Only a person on the box writes it; the hub never sends any
/// of it, so a hub job can read nothing but the hub's own state, with the archive passphrase that
/// stays in a root-only file here (docs/operations.md, "Backing up the hub").
public struct HubBackupSettings: Codable, Sendable, Equatable {
    /// The hub's data directory (`--data-dir` of `mzpanel admin backup`).
    public var dataDirectory: String
    /// The archive passphrase, in a file only this box's root can read (0600).
    public var passphraseFile: String
    /// The `mzpanel` executable that writes the archive.
    public var program: String
    /// The hub's settings file (`/etc/mzpanel/hub.env`), for `MZPANEL_DATABASE_URL` (PostgreSQL hubs).
    public var environmentFile: String?

    public init(dataDirectory: String, passphraseFile: String, program: String, environmentFile: String? = nil) {
        self.dataDirectory = dataDirectory
        self.passphraseFile = passphraseFile
        self.program = program
        self.environmentFile = environmentFile
    }

    /// The archive's name inside the snapshot (`restic backup --stdin --stdin-filename`).
    public static let filename = "mzpanel-hub.backup"
    /// The snapshot's `source=` tag.
    public static let sourceTag = "hub"
    static let minimumPassphraseLength = 12

    /// Checks the settings against the box: absolute paths, a data directory, an executable
    /// `mzpanel`, a passphrase file of the agent's user only (no group or other bits) with 12 or
    /// more characters, a readable settings file.
    public func checked() throws -> HubBackupSettings {
        var clean = self
        for (path, what) in [(dataDirectory, "--data-dir"), (passphraseFile, "--passphrase-file"), (program, "--mzpanel")]
        where !path.hasPrefix("/") {
            throw AgentError("\(what) \(path) is not an absolute path; give it from /")
        }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: dataDirectory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw AgentError("the hub's data directory \(dataDirectory) does not exist; give the hub's --data-dir (/var/lib/mzpanel for the package)")
        }
        guard FileManager.default.isExecutableFile(atPath: program) else {
            throw AgentError("\(program) is not an executable; give the hub's mzpanel binary with --mzpanel (e.g. /usr/bin/mzpanel)")
        }
        var info = stat()
        guard stat(passphraseFile, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else {
            throw AgentError("cannot read the passphrase file \(passphraseFile); create it (umask 077; echo '…' > FILE) and try again")
        }
        guard info.st_uid == getuid(), info.st_mode & 0o077 == 0 else {
            throw AgentError(
                "the passphrase file \(passphraseFile) must belong to this user and be readable by it alone: chown \(getuid()) \(passphraseFile) && chmod 600 \(passphraseFile)"
            )
        }
        let passphrase = String(decoding: FileManager.default.contents(atPath: passphraseFile) ?? Data(), as: UTF8.self)
            .trimmingCharacters(in: .newlines)
        guard passphrase.count >= Self.minimumPassphraseLength else {
            throw AgentError("the passphrase in \(passphraseFile) is shorter than \(Self.minimumPassphraseLength) characters; write a longer one")
        }
        if let file = environmentFile {
            guard file.hasPrefix("/"), FileManager.default.isReadableFile(atPath: file) else {
                throw AgentError("cannot read the hub's settings file \(file); give its absolute path (/etc/mzpanel/hub.env)")
            }
        }
        clean.dataDirectory = dataDirectory.count > 1 && dataDirectory.hasSuffix("/") ? String(dataDirectory.dropLast()) : dataDirectory
        return clean
    }

    /// The variables the archive writer needs from the hub's settings file: the PostgreSQL URL only.
    func hubEnvironment() throws -> [String: String] {
        guard let file = environmentFile else { return [:] }
        guard let data = FileManager.default.contents(atPath: file) else {
            throw AgentError("cannot read the hub's settings file \(file); fix it or enable hub backups again without --env-file")
        }
        var environment: [String: String] = [:]
        for line in String(decoding: data, as: UTF8.self).split(whereSeparator: \.isNewline) {
            let text = line.trimmingCharacters(in: .whitespaces)
            guard !text.hasPrefix("#"), let equals = text.firstIndex(of: "=") else { continue }
            let key = text[..<equals].trimmingCharacters(in: .whitespaces)
            var value = text[text.index(after: equals)...].trimmingCharacters(in: .whitespaces)
            if value.count >= 2, let first = value.first, first == "\"" || first == "'", value.last == first {
                value = String(value.dropFirst().dropLast())
            }
            if key == "MZPANEL_DATABASE_URL" && !value.isEmpty { environment[key] = value }
        }
        return environment
    }

    /// `mzpanel admin backup --to -`: the encrypted archive on standard output, for `restic backup --stdin`.
    func archiveArguments() -> [String] {
        ["admin", "backup", "--to", "-", "--passphrase-file", passphraseFile, "--data-dir", dataDirectory]
    }
}

extension AgentState {
    public var hubBackupFile: String { directory + "/hub-backup.json" }

    /// What this box allowed for hub backups, or nil (the default: hub jobs are refused here).
    public func loadHubBackup() throws -> HubBackupSettings? {
        guard let data = try SecureFile.read(hubBackupFile) else { return nil }
        return try Self.decode(HubBackupSettings.self, from: data, file: hubBackupFile)
    }

    public func saveHubBackup(_ settings: HubBackupSettings) throws {
        try SecureFile.makeDirectory(directory)
        try SecureFile.write(try Self.encode(settings), to: hubBackupFile, mode: 0o600)
    }

    public func removeHubBackup() {
        SecureFile.remove(hubBackupFile)
    }

    /// What the agent reports to the hub on every call (`X-MZPanel-Agent-Capabilities`).
    public var capabilities: [String] {
        FileManager.default.fileExists(atPath: hubBackupFile) ? [AgentCapability.hubBackup] : []
    }
}
