import BackupCore
import Foundation
import HubAPI
import LinkProtocol

/// The last finished runs on this box (`history.json`, newest first), for `mzpanel-agent status`.
public struct RunHistory: Sendable {
    public static let limit = 20
    public let file: String
    public let lockFile: String

    public init(file: String, lockFile: String) {
        self.file = file
        self.lockFile = lockFile
    }

    public func record(_ run: Run) throws {
        try SecureFile.makeDirectory((lockFile as NSString).deletingLastPathComponent)
        try FileLock.withLock(lockFile) {
            var runs = load().filter { $0.id != run.id }
            runs.insert(run, at: 0)
            try SecureFile.write(try HubJSON.encoder().encode(Array(runs.prefix(Self.limit))), to: file, mode: 0o600)
        }
    }

    public func load() -> [Run] {
        guard let data = try? SecureFile.read(file) else { return [] }
        return (try? HubJSON.decoder().decode([Run].self, from: data)) ?? []
    }
}
