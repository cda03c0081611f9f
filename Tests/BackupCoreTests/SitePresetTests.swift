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

@Suite("Site preset over Docker")
struct StackSitePresetTests {
    static let stack = DockerStack(
        project: "shop", directory: "/srv/shop", configFiles: [],
        services: [
            StackService(
                name: "web", image: "wordpress:6", state: "running", containers: [], database: nil, stopForBackup: false, dumpDisabled: false,
                volumes: ["html"]),
            StackService(
                name: "db", image: "mariadb:11", state: "running", containers: [], database: .mariadb, stopForBackup: false, dumpDisabled: false,
                volumes: ["dbdata"]),
            StackService(
                name: "worker", image: "shop/worker", state: "running", containers: [], database: nil, stopForBackup: false, dumpDisabled: false,
                volumes: ["queue", "html"]),
        ],
        volumes: ["html", "dbdata", "queue", "scratch"].map {
            StackVolume(name: $0, engineName: "shop_\($0)", mountpoint: "/v/\($0)", sizeBytes: nil, excluded: false)
        },
        bindMounts: [])

    @Test func theWebServicesVolumesAndTheDatabasesAreKeptTheRestLeftOut() throws {
        #expect(try SitePreset.stackExcludes(Self.stack, web: " web ") == ["queue", "scratch"])
        #expect(throws: DomainError.invalid("site", "stack shop has no service \"www\"; its services: web, db, worker")) {
            try SitePreset.stackExcludes(Self.stack, web: "www")
        }
        #expect(throws: DomainError.self) { try SitePreset.stackExcludes(Self.stack, web: "db") }
    }
}
