import BackupCore
import Testing

@Suite("Site preset")
struct SitePresetTests {
    @Test("a site is its web root without caches, plus its databases")
    func sources() throws {
        let database = DatabaseSource(engine: .mariadb, name: "shop")
        let sources = try SitePreset.sources(root: "/var/www/shop/", databases: [database])
        #expect(sources.paths == ["/var/www/shop"])
        #expect(sources.excludes.contains("/var/www/shop/wp-content/cache"))
        #expect(sources.excludes.contains("/var/www/shop/storage/framework/cache"))
        #expect(sources.excludes.contains("*.tmp"))
        #expect(sources.databases == [database])
        #expect(try sources.validated(for: .full).paths == ["/var/www/shop"])
    }

    @Test("a relative web root is refused with the field named")
    func relativeRoot() {
        #expect(throws: DomainError.invalid("site", "\"www\" is not an absolute path; give the site's web root, e.g. /var/www/shop")) {
            try SitePreset.sources(root: "www", databases: [])
        }
    }
}
