import Foundation

extension JobSources {
    /// Checks the sources against the job's kind and normalizes paths.
    public func validated(for kind: JobKind) throws(DomainError) -> JobSources {
        var clean = JobSources()
        for (index, path) in paths.enumerated() {
            let field = "sources.paths[\(index)]"
            let trimmed = path.trimmingSpaces
            guard trimmed.hasPrefix("/") else {
                throw .invalid(field, "\"\(path)\" is not an absolute path; start it with /")
            }
            if trimmed.contains("\0") || trimmed.contains("\n") {
                throw .invalid(field, "the path contains a control character")
            }
            let normalized = trimmed.count > 1 && trimmed.hasSuffix("/") ? String(trimmed.dropLast()) : trimmed
            if !clean.paths.contains(normalized) { clean.paths.append(normalized) }
        }
        for (index, pattern) in excludes.enumerated() {
            let trimmed = pattern.trimmingSpaces
            if trimmed.isEmpty || trimmed.contains("\n") || trimmed.contains("\0") {
                throw .invalid("sources.excludes[\(index)]", "an exclude is a non-empty glob such as *.tmp or /var/www/cache")
            }
            if !clean.excludes.contains(trimmed) { clean.excludes.append(trimmed) }
        }
        for (index, database) in databases.enumerated() {
            clean.databases.append(try database.validated(index: index))
        }
        clean.stack = try stack?.validated()
        if clean.stack != nil && kind.isMaintenance {
            throw .invalid("sources.stack", "a \(kind.rawValue) job cares for repositories; give the stack to a full or database job")
        }
        switch kind {
        case .full where clean.paths.isEmpty && clean.stack != nil, .database where clean.databases.isEmpty && clean.stack != nil:
            break
        case .full where clean.paths.isEmpty:
            throw .invalid(
                "sources.paths", "a full job backs up at least one path (and optionally databases); for databases only, use kind \"database\"")
        case .database where clean.databases.isEmpty:
            throw .invalid("sources.databases", "a database job needs at least one database, e.g. postgresql:shop")
        case .hub where !clean.paths.isEmpty || !clean.databases.isEmpty || !clean.excludes.isEmpty || clean.stack != nil:
            throw .invalid(
                "sources",
                "a hub job backs up the hub's own state (database and data directory, as `mzpanel admin backup` does); give it no paths, databases or stack"
            )
        case .check where !clean.paths.isEmpty || !clean.databases.isEmpty || !clean.excludes.isEmpty:
            throw .invalid("sources", "a check job reads the repositories this server already writes; give it no paths or databases")
        case .prune where !clean.paths.isEmpty || !clean.databases.isEmpty || !clean.excludes.isEmpty:
            throw .invalid("sources", "a prune job cleans the repositories this server already writes; give it no paths or databases")
        case .database where !clean.paths.isEmpty:
            throw .invalid("sources.paths", "a database job backs up databases only; remove the paths or use kind \"full\"")
        default:
            break
        }
        return clean
    }
}

extension StackSource {
    /// A compose project name: 1–64 lowercase letters, digits, `_`, `-`, starting with a letter or digit
    /// (what Compose itself accepts). Service and volume names: letters, digits, `_`, `.`, `-`.
    public func validated() throws(DomainError) -> StackSource {
        let project = project.trimmingSpaces
        let projectCharacters = Set("abcdefghijklmnopqrstuvwxyz0123456789_-")
        guard (1...64).contains(project.count), project.allSatisfy({ projectCharacters.contains($0) }), let first = project.first,
            first != "-", first != "_"
        else {
            throw .invalid(
                "sources.stack.project", "\"\(project)\" is not a compose project name: use lowercase letters, digits, '_' and '-' (up to 64)")
        }
        let nameCharacters = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")
        func names(_ list: [String], field: String) throws(DomainError) -> [String] {
            var clean: [String] = []
            for (index, name) in list.enumerated() {
                let trimmed = name.trimmingSpaces
                guard (1...64).contains(trimmed.count), trimmed.allSatisfy({ nameCharacters.contains($0) }), trimmed.first != "-" else {
                    throw .invalid("\(field)[\(index)]", "\"\(name)\" is not a service or volume name of a compose file")
                }
                if !clean.contains(trimmed) { clean.append(trimmed) }
            }
            return clean
        }
        var binds: [String] = []
        for (index, bind) in includeBinds.enumerated() {
            let trimmed = bind.trimmingSpaces
            let parts = trimmed.split(separator: "/", omittingEmptySubsequences: true)
            guard trimmed.hasPrefix("/"), !parts.isEmpty, !parts.contains(where: { $0 == "." || $0 == ".." }),
                !trimmed.contains(where: { $0.isNewline || $0 == "\0" || $0 == "," })
            else {
                throw .invalid(
                    "sources.stack.includeBinds[\(index)]",
                    "\"\(bind)\" is not the absolute host path of a bind mount (no . or .. parts, no commas), e.g. /srv/shared")
            }
            let path = "/" + parts.joined(separator: "/")
            if !binds.contains(path) { binds.append(path) }
        }
        return StackSource(
            project: project, stop: try names(stop, field: "sources.stack.stop"),
            excludeVolumes: try names(excludeVolumes, field: "sources.stack.excludeVolumes"), includeBinds: binds)
    }
}

extension Job {
    /// Checks the destination list: one or more, no repeats.
    public static func validatedDestinations(_ ids: [String]) throws(DomainError) -> [String] {
        var clean: [String] = []
        for id in ids where !clean.contains(id) { clean.append(id) }
        if clean.isEmpty {
            throw .invalid("destinationIDs", "a job needs at least one destination; two give you a second copy")
        }
        if clean.count > 8 {
            throw .invalid("destinationIDs", "a job can write to at most 8 destinations")
        }
        return clean
    }

    /// How many parts a check job splits the data into: 1 reads everything each run.
    public static let checkSubsetRange = 1...1000
    /// Reading a tenth of the data per check: a daily check job reads it all every ten days.
    public static let defaultCheckSubsets = 10

    /// The check rotation of a job of this kind: required range for check jobs, nil for backups.
    public static func validatedCheckSubsets(_ value: Int?, kind: JobKind) throws(DomainError) -> Int? {
        guard kind == .check else {
            if value != nil { throw .invalid("checkSubsets", "only check jobs read data subsets; leave it out or use kind \"check\"") }
            return nil
        }
        let subsets = value ?? defaultCheckSubsets
        guard checkSubsetRange.contains(subsets) else {
            throw .invalid("checkSubsets", "\(subsets) is outside 1 to 1000; 1 reads all data each run, 10 reads a tenth each run")
        }
        return subsets
    }

    /// A ping URL: http(s), a host, no spaces; "" clears it.
    public static func validatedPingURL(_ text: String?) throws(DomainError) -> String? {
        guard let raw = text?.trimmingSpaces, !raw.isEmpty else { return nil }
        guard raw.count <= 2000, !raw.contains(where: { $0.isWhitespace }), let url = URL(string: raw),
            let scheme = url.scheme?.lowercased(), ["http", "https"].contains(scheme), let host = url.host, !host.isEmpty
        else {
            throw .invalid(
                "pingURL", "\"\(raw.prefix(80))\" is not an http(s) URL; use the ping URL your monitor gives, e.g. https://hc-ping.com/UUID")
        }
        return raw
    }

    /// The shortest and longest stale thresholds (seconds): one hour to one year.
    public static let staleAfterRange = 3_600...31_536_000

    /// Checks a stale threshold; 0 or nil turns the rule off.
    public static func validatedStaleAfter(_ seconds: Int?) throws(DomainError) -> Int? {
        guard let seconds, seconds != 0 else { return nil }
        guard staleAfterRange.contains(seconds) else {
            throw .invalid("staleAfter", "\(seconds) s is outside 1 hour to 1 year; give seconds such as 90000 (25 hours), or 0 to turn the rule off")
        }
        return seconds
    }

    /// The stale threshold, for backup jobs only (a check job makes no snapshots).
    public static func validatedStaleAfter(_ seconds: Int?, kind: JobKind) throws(DomainError) -> Int? {
        if kind.isMaintenance, let seconds, seconds != 0 {
            throw .invalid("staleAfter", "a \(kind.rawValue) job makes no snapshots, so it cannot be stale; set staleAfter on the backup jobs")
        }
        return try validatedStaleAfter(seconds)
    }
}

extension JobKind {
    /// A job kind from its name in any case.
    public static func parse(_ text: String) throws(DomainError) -> JobKind {
        guard let kind = JobKind(rawValue: text.lowercased()) else {
            throw .invalid(
                "kind",
                "\"\(text)\" is not a job kind; use full (paths and databases), database (databases only), check (verify the repositories), prune (remove data no snapshot uses) or hub (the hub's own state, from the hub's machine)"
            )
        }
        return kind
    }
}

extension Schedule {
    /// Parses a schedule, naming the input that is wrong (`schedule` or `timeZone`) in the error.
    public static func validated(_ input: String, timeZone: String) throws(DomainError) -> Schedule {
        do {
            return try Schedule.parse(input, timeZone: timeZone)
        } catch let error as ScheduleError {
            throw .invalid(error.fragment == timeZone ? "timeZone" : "schedule", error.description)
        } catch {
            throw .invalid("schedule", "\(error)")
        }
    }
}

extension RetentionPolicy {
    /// Validates retention, naming fields as a request does (`retention.keepLast`).
    public func validatedForRequest() throws(DomainError) -> RetentionPolicy {
        do {
            return try validated()
        } catch {
            throw error.prefixed("retention")
        }
    }
}
