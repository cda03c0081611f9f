import BackupCore
import Testing

/// What a restore may name: includes are literal absolute paths, database names identifiers —
/// the same rule for a job's sources and a restore's targets.
@Suite("Restore plan validation")
struct RestorePlanTests {
    static func plan(includes: [String] = [], databases: [DatabaseRestore] = [], files: Bool = true) -> RestorePlan {
        RestorePlan(
            snapshotID: "snp", sourceServerID: "srv", destinationID: "dst", resticSnapshotIDs: ["abcd1234"], files: files, target: nil,
            includes: includes, databases: databases, overwrite: false, dryRun: false)
    }

    /// The field of the DomainError `body` throws (nil when it does not throw).
    static func field(_ body: () throws -> Void) -> String? {
        do {
            try body()
            return nil
        } catch {
            return (error as? DomainError)?.field ?? "(not a DomainError with a field)"
        }
    }

    @Test("includes are normalised literal paths: pattern characters stay, . and .. are refused, / is everything")
    func includes() throws {
        let clean = try Self.plan(includes: ["/srv/[a]pp/", "//srv//*", "/srv/[a]pp"]).validated()
        #expect(clean.includes == ["/srv/[a]pp", "/srv/*"])
        #expect(try Self.plan(includes: ["/", "/srv"]).validated().includes.isEmpty)
        #expect(Self.field { _ = try Self.plan(includes: ["/srv/../etc"]).validated() } == "include[0]")
        #expect(Self.field { _ = try Self.plan(includes: ["/ok", "srv"]).validated() } == "include[1]")
    }

    @Test("a database target is an identifier, never a connection string or an option")
    func databaseTargets() throws {
        for bad in ["dbname=shop", "host=elsewhere dbname=x", "postgresql://elsewhere/x", "-c", ".hidden", "a'b", "a`b", "shop;drop", "*"] {
            let restore = DatabaseRestore(engine: .postgresql, name: "shop", into: bad)
            #expect(Self.field { _ = try Self.plan(databases: [restore], files: false).validated() } == "databases[0].into", "\(bad)")
        }
        #expect(
            Self.field { _ = try Self.plan(databases: [DatabaseRestore(engine: .mariadb, name: "host=x")], files: false).validated() }
                == "databases[0].name")
        for good in ["shop", "shop_2", "my-shop", "Shop$1", "a.b"] {
            let restore = DatabaseRestore(engine: .postgresql, name: "shop", into: good)
            #expect(try Self.plan(databases: [restore], files: false).validated().databases[0].targetName == good)
        }
        #expect(throws: DomainError.self) {
            _ = try Self.plan(databases: [DatabaseRestore(engine: .sqlite, name: "/var/lib/app.db", into: "relative.db")], files: false).validated()
        }
    }

    @Test("a job's database names follow the same rule")
    func jobSources() throws {
        #expect(Self.field { _ = try DatabaseSource(engine: .postgresql, name: "dbname=shop").validated(index: 2) } == "sources.databases[2]")
        #expect(Self.field { _ = try DatabaseSource(engine: .mysql, name: "-x").validated(index: 0) } == "sources.databases[0]")
        #expect(try DatabaseSource(engine: .postgresql, name: "*").validated(index: 0).name == "*")
        #expect(try DatabaseSource(engine: .postgresql, name: "shop").validated(index: 0).name == "shop")
    }
}
