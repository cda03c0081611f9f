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
