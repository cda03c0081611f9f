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

/// `POST /api/v1/jobs/{job}/drills`: a restore drill of the job's newest snapshot (docs/operations.md,
/// "Restore drills"); every field is optional.
public struct DrillRequest: Codable, Sendable {
    /// Drill on this server (default: the job's own).
    public let server: String?
    /// Which copy (default: the first).
    public let destination: String?
    /// `50` (files) or `2%` (of the bytes); default: the job's drill setting, else 20 files.
    public let sample: String?
    /// SQL assertions for each database loaded, e.g. `SELECT count(*) FROM orders >= 10` (default: the job's).
    public let assertions: [String]?

    public init(server: String? = nil, destination: String? = nil, sample: String? = nil, assertions: [String]? = nil) {
        self.server = server
        self.destination = destination
        self.sample = sample
        self.assertions = assertions
    }
}

/// `POST /api/v1/jobs/{job}/copies`: copy the job's snapshots from one of its destinations to another.
public struct CopyRequest: Codable, Sendable {
    /// The destination (id or name) that holds the snapshots.
    public let from: String
    /// Another destination of the job; its repository is created with the source's chunker parameters.
    public let to: String

    public init(from: String, to: String) {
        self.from = from
        self.to = to
    }
}
