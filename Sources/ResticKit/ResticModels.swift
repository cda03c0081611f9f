import Foundation

/// One progress report of a running backup (restic's `status` message), or the final one built
/// from the summary (`isFinal`, percentDone 1).
public struct ResticProgress: Sendable, Equatable {
    /// 0…1.
    public var percentDone: Double
    public var totalFiles: Int
    public var filesDone: Int
    public var totalBytes: Int
    public var bytesDone: Int
    public var secondsElapsed: Int
    /// nil when restic does not know yet (it then prints 2^63, or nothing).
    public var secondsRemaining: Int?
    public var errorCount: Int
    /// True for the last report of a run, sent once after restic's summary.
    public var isFinal: Bool

    public init(
        percentDone: Double, totalFiles: Int, filesDone: Int, totalBytes: Int, bytesDone: Int,
        secondsElapsed: Int, secondsRemaining: Int?, errorCount: Int = 0, isFinal: Bool = false
    ) {
        self.percentDone = percentDone
        self.totalFiles = totalFiles
        self.filesDone = filesDone
        self.totalBytes = totalBytes
        self.bytesDone = bytesDone
        self.secondsElapsed = secondsElapsed
        self.secondsRemaining = secondsRemaining
        self.errorCount = errorCount
        self.isFinal = isFinal
    }
}

/// What a finished backup reports (restic's `summary` message), plus the files it could not read.
public struct ResticBackupSummary: Sendable, Equatable {
    /// The new snapshot's id: the full id from restic 0.15 on, the 8-character short id on 0.14.
    public var snapshotID: String
    public var filesNew: Int
    public var filesChanged: Int
    public var filesUnmodified: Int
    public var dirsNew: Int
    public var dirsChanged: Int
    public var dirsUnmodified: Int
    /// Bytes added to the repository (before compression).
    public var dataAdded: Int
    public var totalBytesProcessed: Int
    public var totalFilesProcessed: Int
    /// Seconds.
    public var totalDuration: Double
    /// Items restic could not back up (redacted), e.g. "read /srv/x: permission denied". Non-empty
    /// means the snapshot exists but is incomplete (restic's exit code 3).
    public var warnings: [String]

    public init(
        snapshotID: String, filesNew: Int, filesChanged: Int, filesUnmodified: Int,
        dirsNew: Int = 0, dirsChanged: Int = 0, dirsUnmodified: Int = 0,
        dataAdded: Int, totalBytesProcessed: Int, totalFilesProcessed: Int, totalDuration: Double,
        warnings: [String] = []
    ) {
        self.snapshotID = snapshotID
        self.filesNew = filesNew
        self.filesChanged = filesChanged
        self.filesUnmodified = filesUnmodified
        self.dirsNew = dirsNew
        self.dirsChanged = dirsChanged
        self.dirsUnmodified = dirsUnmodified
        self.dataAdded = dataAdded
        self.totalBytesProcessed = totalBytesProcessed
        self.totalFilesProcessed = totalFilesProcessed
        self.totalDuration = totalDuration
        self.warnings = warnings
    }

    /// True when restic could not read everything (the snapshot exists but lacks those items).
    public var isComplete: Bool { warnings.isEmpty }
}

/// A snapshot as listed by `restic snapshots --json`.
public struct ResticSnapshot: Sendable, Equatable, Identifiable {
    public var id: String
    public var shortID: String
    public var time: Date
    public var paths: [String]
    public var tags: [String]
    public var hostname: String
    public var username: String?
    public var parent: String?

    public init(
        id: String, shortID: String, time: Date, paths: [String], tags: [String], hostname: String,
        username: String? = nil, parent: String? = nil
    ) {
        self.id = id
        self.shortID = shortID
        self.time = time
        self.paths = paths
        self.tags = tags
        self.hostname = hostname
        self.username = username
        self.parent = parent
    }
}

/// A producer whose standard output becomes a snapshot's single file (`pg_dump`, `mysqldump`, …).
public struct ProducerCommand: Sendable, Hashable {
    /// An absolute path, or a name looked up in PATH.
    public var executable: String
    public var arguments: [String]
    /// Added to the producer's environment (PATH and HOME are the only inherited variables).
    /// Every value is redacted from messages, except those of well-known settings (PATH, PGHOST…).
    public var environment: [String: String]

    public init(executable: String, arguments: [String] = [], environment: [String: String] = [:]) {
        self.executable = executable
        self.arguments = arguments
        self.environment = environment
    }

    var displayName: String { (executable as NSString).lastPathComponent }

    /// The environment values to keep out of messages.
    public var secretValues: [String] {
        environment.compactMap { key, value in
            Self.nonSecretVariables.contains(key.uppercased()) || value.isEmpty ? nil : value
        }
    }

    static let nonSecretVariables: Set<String> = [
        "PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR", "PGHOST", "PGPORT", "PGDATABASE",
        "PGSSLMODE", "PGCONNECT_TIMEOUT", "MYSQL_HOST", "MYSQL_TCP_PORT",
    ]
}

/// What `forget` decided, per group of snapshots.
public struct ResticForgetResult: Sendable, Equatable {
    public struct Group: Sendable, Equatable {
        public var host: String?
        public var paths: [String]
        public var tags: [String]
        /// Full ids of the snapshots kept.
        public var keep: [String]
        /// Full ids of the snapshots removed (or that would be, in a dry run).
        public var remove: [String]

        public init(host: String?, paths: [String], tags: [String], keep: [String], remove: [String]) {
            self.host = host
            self.paths = paths
            self.tags = tags
            self.keep = keep
            self.remove = remove
        }
    }

    public var groups: [Group]
    public var dryRun: Bool
    /// True when `--prune` ran after forgetting.
    public var pruned: Bool

    public init(groups: [Group], dryRun: Bool, pruned: Bool) {
        self.groups = groups
        self.dryRun = dryRun
        self.pruned = pruned
    }

    public var keptIDs: [String] { groups.flatMap(\.keep) }
    public var removedIDs: [String] { groups.flatMap(\.remove) }
}

/// The outcome of `restic check`. A damaged repository is a result (`isHealthy` false), not an error;
/// errors are thrown only when the check could not run (wrong password, locked, unreachable…).
public struct ResticCheckResult: Sendable, Equatable {
    public var isHealthy: Bool
    /// What restic reported as wrong (redacted), one entry per problem.
    public var errors: [String]
    /// restic suggests `repair index` (0.18+ JSON only; false otherwise).
    public var suggestRepairIndex: Bool
    /// restic suggests `prune` (0.18+ JSON only; false otherwise).
    public var suggestPrune: Bool
    /// Pack files restic found damaged (0.18+ JSON only).
    public var brokenPacks: [String]

    public init(isHealthy: Bool, errors: [String] = [], suggestRepairIndex: Bool = false, suggestPrune: Bool = false, brokenPacks: [String] = []) {
        self.isHealthy = isHealthy
        self.errors = errors
        self.suggestRepairIndex = suggestRepairIndex
        self.suggestPrune = suggestPrune
        self.brokenPacks = brokenPacks
    }
}
