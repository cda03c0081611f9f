/// The "site" job preset: a web root plus its database, without the caches and build output
/// that every CMS and framework regenerates on its own.
public enum SitePreset {
    /// Paths under a web root that are safe to skip (relative to the root).
    public static let cacheDirectories = [
        "wp-content/cache", "wp-content/upgrade", "wp-content/uploads/cache",  // WordPress
        "var/cache", "var/session", "var/tmp",  // Symfony, Magento
        "storage/framework/cache", "storage/framework/sessions", "storage/framework/views",  // Laravel
        "bootstrap/cache", "node_modules", ".cache", "tmp/cache",
    ]
    /// File patterns skipped anywhere in the site.
    public static let filePatterns = ["*.tmp", "*.swp", "*~"]

    /// The sources of a site job for a web root: the root, its cache excludes, and the databases.
    public static func sources(root: String, databases: [DatabaseSource]) throws(DomainError) -> JobSources {
        let clean = root.count > 1 && root.hasSuffix("/") ? String(root.dropLast()) : root
        guard clean.hasPrefix("/") else {
            throw .invalid("site", "\"\(root)\" is not an absolute path; give the site's web root, e.g. /var/www/shop")
        }
        return JobSources(paths: [clean], excludes: cacheDirectories.map { clean + "/" + $0 } + filePatterns, databases: databases)
    }
}

extension SitePreset {
    /// The site preset over Docker (`--stack PROJECT --site SERVICE`): the web service's named
    /// volumes and the database services (dumped, their volumes kept), the other services' volumes
    /// left out. Answers the volumes to leave out, by compose name, sorted.
    public static func stackExcludes(_ stack: DockerStack, web: String) throws(DomainError) -> [String] {
        let service = web.trimmingSpaces
        guard let found = stack.services.first(where: { $0.name == service }) else {
            throw .invalid(
                "site", "stack \(stack.project) has no service \"\(web)\"; its services: \(stack.services.map(\.name).joined(separator: ", "))")
        }
        guard found.database == nil else {
            throw .invalid(
                "site", "service \(service) of stack \(stack.project) is a database; name the web service (its databases are dumped anyway)")
        }
        let kept = Set(found.volumes + stack.services.filter { $0.database != nil }.flatMap(\.volumes))
        return stack.volumes.map(\.name).filter { !kept.contains($0) }.sorted()
    }
}
