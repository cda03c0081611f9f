import BackupCore
import Foundation

/// `POST /api/v1/restores`: what to restore, from which copy, onto which server and where.
public struct RestoreRequest: Codable, Sendable {
    public let snapshot: String
    public let destination: String?
    public let server: String?
    public let target: String?
    public let include: [String]?
    public let files: Bool?
    public let databases: [DatabaseRestore]?
    public let overwrite: Bool?
    public let dryRun: Bool?
    /// A Docker stack restore (docs/stacks.md): the whole stack, or only some volumes and databases.
    public let stack: StackRestoreOptions?
    public init(
        snapshot: String, destination: String?, server: String?, target: String?, include: [String]?, files: Bool?,
        databases: [DatabaseRestore]?, overwrite: Bool?, dryRun: Bool?, stack: StackRestoreOptions? = nil
    ) {
        self.snapshot = snapshot
        self.destination = destination
        self.server = server
        self.target = target
        self.include = include
        self.files = files
        self.databases = databases
        self.overwrite = overwrite
        self.dryRun = dryRun
        self.stack = stack
    }
}
