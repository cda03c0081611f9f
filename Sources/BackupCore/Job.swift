import Foundation

/// What a job does: `full` backs up paths and databases, `database` databases only, `check`
/// verifies the server's repository at each destination (`restic check`, reading a rotating part
/// of the data each time), `hub` backs up the hub itself: the agent on the hub's machine streams
/// the encrypted archive of `mzpanel admin backup` into restic (only where that agent was allowed
/// to, locally: `mzpanel-agent hub-backup enable`; docs/operations.md).
public enum JobKind: String, Sendable, Codable, CaseIterable {
    case full, database, check, hub
    /// Repository maintenance: `restic prune` of this server's repository at each destination
    /// (the destination's `pruneMaxUnused`/`pruneMaxRepackSize`), apart from backups, which only forget.
    case prune

    /// Check and prune jobs care for repositories: they take no sources and make no snapshots.
    public var isMaintenance: Bool { self == .check || self == .prune }
}

/// What an agent can do beyond the basics, reported to the hub on every call
/// (`X-MZPanel-Agent-Capabilities`). The hub uses it only to refuse jobs a server cannot run.
public enum AgentCapability {
    /// The box's administrator ran `mzpanel-agent hub-backup enable`: it may run `hub` jobs.
    public static let hubBackup = "hub-backup"

    /// The capabilities in a header value: comma-separated known names, unknown ones dropped; nil
    /// without a header (an agent call that does not report them: the hub keeps what it knows).
    public static func parse(_ header: String?) -> [String]? {
        guard let header else { return nil }
        guard header.count <= 200 else { return [] }
        let known: Set<String> = [hubBackup]
        var names: [String] = []
        for part in header.split(separator: ",") {
            let name = part.trimmingCharacters(in: .whitespaces)
            if known.contains(name) && !names.contains(name) { names.append(name) }
        }
        return names.sorted()
    }
}

/// A database engine the agent can dump and restore.
public enum DatabaseEngine: String, Sendable, Codable, CaseIterable {
    case postgresql, mysql, mariadb, sqlite

    /// Accepts the common spellings (`postgres`, `pg`, `mysql`, `mariadb`, `sqlite3`).
    public init?(spelling: String) {
        switch spelling.lowercased() {
        case "postgresql", "postgres", "pg", "pgsql": self = .postgresql
        case "mysql": self = .mysql
        case "mariadb": self = .mariadb
        case "sqlite", "sqlite3": self = .sqlite
        default: return nil
        }
    }
}

extension DatabaseEngine {
    /// The one rule for database names, used by jobs and restore targets alike. A PostgreSQL or
    /// MySQL/MariaDB name is an identifier: 1–64 ASCII letters, digits, `_`, `$`, `-`, `.`, not
    /// starting with `-` or `.` — never a connection string (`dbname=x`, `host=…`), an option or a
    /// quoted name. A SQLite database is an absolute file path. `*` (all databases) only where
    /// `allowAll`.
    public static func checkName(_ name: String, engine: DatabaseEngine, field: String, allowAll: Bool) throws(DomainError) {
        if name.isEmpty { throw .invalid(field, "the database name is required" + (allowAll ? " (\"*\" means all databases)" : "")) }
        if engine == .sqlite {
            guard name.hasPrefix("/"), !name.contains(where: { $0.isNewline || $0 == "\0" }) else {
                throw .invalid(field, "a SQLite database is given by its absolute file path, e.g. sqlite:/var/lib/app/app.db")
            }
            return
        }
        if name == "*" {
            if allowAll { return }
            throw .invalid(field, "\"*\" (all databases) cannot be a target name; name one database")
        }
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-$.")
        guard name.count <= 64, name.allSatisfy({ allowed.contains($0) }), let first = name.first, first != "-", first != "." else {
            throw .invalid(
                field,
                "\"\(name)\" is not a database name: use up to 64 letters, digits, '_', '-', '$', '.' (not first: '-' or '.')"
                    + (allowAll ? ", or \"*\" for all" : ""))
        }
    }
}

/// One database a job dumps. `name` is the database (`*` = all databases for PostgreSQL and
/// MySQL/MariaDB, the file path for SQLite); `connection` is how to reach it without a password
/// (host/port/user, a socket; passwords stay on the server in `.pgpass` or an option file).
public struct DatabaseSource: Sendable, Codable, Equatable {
    public var engine: DatabaseEngine
    public var name: String
    public var connection: String?

    public init(engine: DatabaseEngine, name: String, connection: String? = nil) {
        self.engine = engine
        self.name = name
        self.connection = connection
    }

    /// Parses the CLI form `ENGINE:NAME[@CONNECTION]`.
    public static func parse(_ text: String) throws(DomainError) -> DatabaseSource {
        guard let colon = text.firstIndex(of: ":") else {
            throw .invalid("database", "\"\(text)\" should be ENGINE:NAME[@CONNECTION], e.g. postgresql:shop@localhost:5432")
        }
        let engineText = String(text[..<colon])
        guard let engine = DatabaseEngine(spelling: engineText) else {
            throw .invalid("database", "\"\(engineText)\" is not a database engine; use postgresql, mysql, mariadb or sqlite")
        }
        let rest = text[text.index(after: colon)...]
        if let at = rest.firstIndex(of: "@"), engine != .sqlite {
            return DatabaseSource(engine: engine, name: String(rest[..<at]), connection: String(rest[rest.index(after: at)...]))
        }
        return DatabaseSource(engine: engine, name: String(rest))
    }

    public func validated(index: Int) throws(DomainError) -> DatabaseSource {
        let field = "sources.databases[\(index)]"
        var clean = self
        clean.name = name.trimmingSpaces
        try DatabaseEngine.checkName(clean.name, engine: engine, field: field, allowAll: true)
        if let connection = connection?.trimmingSpaces, !connection.isEmpty {
            let lower = connection.lowercased()
            let userPart = connection.lastIndex(of: "@").map { connection[..<$0] } ?? ""
            if lower.contains("password") || lower.contains("://") || userPart.contains(":") {
                throw .invalid(field, "the connection must not contain a password; keep it on the server in ~/.pgpass or a MySQL option file")
            }
            if connection.contains("\n") || connection.contains("\0") || connection.count > 256 {
                throw .invalid(field, "the connection is not a valid host, host:port, user@host or socket path")
            }
            clean.connection = connection
        } else {
            clean.connection = nil
        }
        return clean
    }
}

/// A Docker Compose project a job backs up as a whole (docs/stacks.md): its project directory,
/// its named volumes and a dump of each database service, taken from inside its container.
public struct StackSource: Sendable, Codable, Equatable {
    /// The compose project name (`com.docker.compose.project`).
    public var project: String
    /// Services stopped while the volumes are copied (besides those labelled `mzpanel.backup.stop=true`).
    public var stop: [String]
    /// Volumes left out, by their name in the compose file (besides those labelled `mzpanel.backup.exclude=true`).
    public var excludeVolumes: [String]
    /// Host paths of bind mounts outside the project directory to take too (inside it they are
    /// part of the project directory already).
    public var includeBinds: [String]

    public init(project: String, stop: [String] = [], excludeVolumes: [String] = [], includeBinds: [String] = []) {
        self.project = project
        self.stop = stop
        self.excludeVolumes = excludeVolumes
        self.includeBinds = includeBinds
    }

    enum CodingKeys: String, CodingKey { case project, stop, excludeVolumes, includeBinds }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        project = try c.decode(String.self, forKey: .project)
        stop = try c.decodeIfPresent([String].self, forKey: .stop) ?? []
        excludeVolumes = try c.decodeIfPresent([String].self, forKey: .excludeVolumes) ?? []
        includeBinds = try c.decodeIfPresent([String].self, forKey: .includeBinds) ?? []
    }

    /// `includeBinds` only when there are some, so a stack job without them encodes (and is signed) as before.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(project, forKey: .project)
        try c.encode(stop, forKey: .stop)
        try c.encode(excludeVolumes, forKey: .excludeVolumes)
        if !includeBinds.isEmpty { try c.encode(includeBinds, forKey: .includeBinds) }
    }
}

/// What a job reads on its server.
public struct JobSources: Sendable, Codable, Equatable {
    public var paths: [String]
    public var excludes: [String]
    public var databases: [DatabaseSource]
    /// A Docker stack backed up as a whole (nil: none). Part of the sources, so it is part of the job as one value.
    public var stack: StackSource?

    public init(paths: [String] = [], excludes: [String] = [], databases: [DatabaseSource] = [], stack: StackSource? = nil) {
        self.paths = paths
        self.excludes = excludes
        self.databases = databases
        self.stack = stack
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        paths = try c.decodeIfPresent([String].self, forKey: .paths) ?? []
        excludes = try c.decodeIfPresent([String].self, forKey: .excludes) ?? []
        databases = try c.decodeIfPresent([DatabaseSource].self, forKey: .databases) ?? []
        stack = try c.decodeIfPresent(StackSource.self, forKey: .stack)
    }
}

/// A backup job: what, when, how long to keep, where. Belongs to one server.
public struct Job: Sendable, Codable, Equatable {
    public var id: String
    public var accountID: String
    public var serverID: String
    public var name: String
    public var kind: JobKind
    public var sources: JobSources
    public var schedule: Schedule
    public var retention: RetentionPolicy
    public var destinationIDs: [String]
    public var enabled: Bool
    public var createdAt: Date
    public var updatedAt: Date
    /// Seconds without a new snapshot after which the job counts as `stale` (nil: no such rule).
    public var staleAfter: Int?
    /// Check jobs: each run reads 1/t of the repository's data, the next part each time, so every
    /// t runs read all of it (`restic check --read-data-subset n/t`). nil for backup jobs.
    public var checkSubsets: Int?
    /// Healthchecks-style ping URL the agent calls at each run: `/start`, then the URL itself on
    /// success or `/fail` (nil: no pings).
    public var pingURL: String?
    /// The job as a person signed it with the account key (nil: never signed). Kept through edits
    /// made without signing, so an agent can tell the job was changed after it was signed.
    public var manifest: SignedManifest?
    /// Shell commands run on the server around each backup (nil: none). Signed with the job.
    public var hooks: JobHooks?
    /// Retention per destination, replacing `retention` there (nil: the job's everywhere). Signed with the job.
    public var destinationRetention: [DestinationRetention]?
    /// Restore drills the hub's scheduler starts (nil: none; on-demand drills work either way).
    public var drill: JobDrill?
    /// The hours scheduled runs may start, in the schedule's time zone (nil: any time). Signed with the job.
    public var window: BackupWindow?
    /// Scheduled starts are delayed by a stable offset below this many seconds, derived from the
    /// job id (nil: none). Signed with the job.
    public var spreadSeconds: Int?

    public init(
        id: String, accountID: String, serverID: String, name: String, kind: JobKind, sources: JobSources,
        schedule: Schedule, retention: RetentionPolicy, destinationIDs: [String], enabled: Bool,
        createdAt: Date, updatedAt: Date, staleAfter: Int? = nil, checkSubsets: Int? = nil, pingURL: String? = nil,
        manifest: SignedManifest? = nil, hooks: JobHooks? = nil, destinationRetention: [DestinationRetention]? = nil,
        drill: JobDrill? = nil, window: BackupWindow? = nil, spreadSeconds: Int? = nil
    ) {
        self.window = window
        self.spreadSeconds = spreadSeconds
        self.destinationRetention = destinationRetention
        self.drill = drill
        self.id = id
        self.accountID = accountID
        self.serverID = serverID
        self.name = name
        self.kind = kind
        self.sources = sources
        self.schedule = schedule
        self.retention = retention
        self.destinationIDs = destinationIDs
        self.enabled = enabled
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.staleAfter = staleAfter
        self.checkSubsets = checkSubsets
        self.pingURL = pingURL
        self.manifest = manifest
        self.hooks = hooks
    }
}
