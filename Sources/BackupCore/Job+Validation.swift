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
        switch kind {
        case .full where clean.paths.isEmpty:
            throw .invalid("sources.paths", "a full job backs up at least one path (and optionally databases); for databases only, use kind \"database\"")
        case .database where clean.databases.isEmpty:
            throw .invalid("sources.databases", "a database job needs at least one database, e.g. postgresql:shop")
        case .database where !clean.paths.isEmpty:
            throw .invalid("sources.paths", "a database job backs up databases only; remove the paths or use kind \"full\"")
        default:
            break
        }
        return clean
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
}
