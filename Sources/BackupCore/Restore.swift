import Foundation

/// What a restore run does: which copy of which snapshot, what of it (files below `includes`,
/// databases), and where to (a directory, or the original location). Kept with the run, so the
/// history says who restored what, from where, to where.
public struct RestorePlan: Sendable, Codable, Equatable {
    /// The hub's snapshot, its job, the server whose repository holds it, and the copy used.
    public var snapshotID: String
    public var sourceServerID: String
    public var destinationID: String
    /// The copy's restic snapshots (files and one per database dump).
    public var resticSnapshotIDs: [String]
    /// Restore the files (all, or those below `includes`).
    public var files: Bool
    /// Absolute directory to restore below; nil = the original location (`/`).
    public var target: String?
    public var includes: [String]
    public var databases: [DatabaseRestore]
    /// Confirmation to replace existing files or a non-empty database.
    public var overwrite: Bool
    /// Only report what would change; nothing is written.
    public var dryRun: Bool
    /// A Docker stack restore (docs/stacks.md) instead of files and databases.
    public var stack: StackRestoreOptions?
    /// A restore drill: a sample of the files and every dump, restored into scratch places the
    /// agent creates and removes (`target` and `databases[].into` stay nil), then checked.
    public var drill: DrillOptions?

    public init(
        snapshotID: String, sourceServerID: String, destinationID: String, resticSnapshotIDs: [String], files: Bool, target: String?,
        includes: [String], databases: [DatabaseRestore], overwrite: Bool, dryRun: Bool, stack: StackRestoreOptions? = nil,
        drill: DrillOptions? = nil
    ) {
        self.drill = drill
        self.snapshotID = snapshotID
        self.sourceServerID = sourceServerID
        self.destinationID = destinationID
        self.resticSnapshotIDs = resticSnapshotIDs
        self.files = files
        self.target = target
        self.includes = includes
        self.databases = databases
        self.overwrite = overwrite
        self.dryRun = dryRun
        self.stack = stack
    }

    /// Checks paths (absolute, no control characters) and what is asked for.
    public func validated(stackContents: StackContents? = nil) throws(DomainError) -> RestorePlan {
        var clean = self
        if let drill {
            guard stack == nil, target == nil, includes.isEmpty, !overwrite, !dryRun, databases.allSatisfy({ $0.into == nil }) else {
                throw .invalid(
                    "drill", "a drill restores into scratch places of its own; it takes no stack, target, include, into, overwrite or dry run")
            }
            clean.drill = try drill.validated()
            for (index, database) in databases.enumerated() { clean.databases[index] = try database.validated(index: index) }
            guard files || !clean.databases.isEmpty else { throw .invalid("drill", "the snapshot has neither files nor dumps to drill") }
            return clean
        }
        if let stack {
            guard !files, target == nil, includes.isEmpty, databases.isEmpty else {
                throw .invalid(
                    "stack",
                    "a stack restore brings back the stack's project directory, volumes and databases; leave out files, target, include and databases (use stack.projectDirectory, stack.volumes, stack.databases)"
                )
            }
            clean.stack = try stack.validated(contents: stackContents)
            return clean
        }
        if let target {
            let trimmed = target.trimmingSpaces
            guard trimmed.hasPrefix("/"), !trimmed.contains(where: \.isNewline), !trimmed.contains("\0") else {
                throw .invalid(
                    "target", "\"\(target)\" is not an absolute directory; give one such as /srv/restore, or leave it out to restore in place")
            }
            clean.target = trimmed.count > 1 && trimmed.hasSuffix("/") ? String(trimmed.dropLast()) : trimmed
        }
        clean.includes = []
        for (index, include) in includes.enumerated() {
            let path = try Self.includePath(include, field: "include[\(index)]")
            if !clean.includes.contains(path) { clean.includes.append(path) }
        }
        if !includes.isEmpty && !files { throw .invalid("include", "paths to include only apply when restoring files") }
        // `/` is the whole snapshot: the same as no includes.
        if clean.includes.contains("/") { clean.includes = [] }
        clean.databases = []
        for (index, database) in databases.enumerated() { clean.databases.append(try database.validated(index: index)) }
        guard files || !clean.databases.isEmpty else {
            throw .invalid("databases", "nothing to restore: ask for the files, one or more databases, or both")
        }
        return clean
    }
}

extension RestorePlan {
    /// An include as the literal path it is: absolute, no `.` or `..` parts, no repeated or
    /// trailing `/`. Characters such as `*`, `?` and `[` are part of the name, never a pattern.
    static func includePath(_ include: String, field: String) throws(DomainError) -> String {
        let trimmed = include.trimmingSpaces
        let parts = trimmed.split(separator: "/", omittingEmptySubsequences: true)
        guard trimmed.hasPrefix("/"), !trimmed.contains(where: \.isNewline), !trimmed.contains("\0"),
            !parts.contains(where: { $0 == "." || $0 == ".." })
        else {
            throw .invalid(field, "\"\(include)\" is not an absolute path inside the snapshot (no . or .. parts), e.g. /var/www/site/uploads")
        }
        return "/" + parts.joined(separator: "/")
    }
}

/// One database dump of a snapshot restored into a database: the same name, another name, or
/// (SQLite) another file; `connection` reaches the target database server.
public struct DatabaseRestore: Sendable, Codable, Equatable {
    public var engine: DatabaseEngine
    /// The database as backed up (`*` = all databases).
    public var name: String
    /// Restore into this database (or SQLite file) instead of `name`.
    public var into: String?
    public var connection: String?

    public init(engine: DatabaseEngine, name: String, into: String? = nil, connection: String? = nil) {
        self.engine = engine
        self.name = name
        self.into = into
        self.connection = connection
    }

    /// The database written to.
    public var targetName: String { into ?? name }

    public func validated(index: Int) throws(DomainError) -> DatabaseRestore {
        let field = "databases[\(index)]"
        var clean = self
        clean.name = name.trimmingSpaces
        clean.into = into?.trimmingSpaces
        if clean.into?.isEmpty == true { clean.into = nil }
        guard !clean.name.isEmpty else { throw .invalid(field, "name the database as it was backed up (see the snapshot's copies)") }
        try DatabaseEngine.checkName(clean.name, engine: engine, field: field + ".name", allowAll: true)
        if let into = clean.into {
            if clean.name == "*" {
                throw .invalid(field + ".into", "a dump of all databases restores into the same names; leave \"into\" out")
            }
            try DatabaseEngine.checkName(into, engine: engine, field: field + ".into", allowAll: false)
        }
        return clean
    }
}
