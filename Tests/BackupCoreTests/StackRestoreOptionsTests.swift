import BackupCore
import Foundation
import Testing

/// A stack restore's options: `SERVICE[=INTO]`, names checked, and checked against what the
/// snapshot holds when the hub knows it; `{}` decodes as the whole stack.
@Suite("Stack restore options")
struct StackRestoreOptionsTests {
    static let contents = StackContents(
        project: "shop", directory: "/srv/shop", volumes: ["pgdata", "uploads"],
        services: [
            StackContents.Service(name: "db", volumes: ["pgdata"], dump: .postgresql),
            StackContents.Service(name: "app", volumes: ["uploads"], dump: nil),
        ])

    @Test func databasesParseAndNamesAreCleaned() throws {
        #expect(StackRestoreOptions.parseDatabase("db") == .init(service: "db"))
        #expect(StackRestoreOptions.parseDatabase("db=shop_copy") == .init(service: "db", into: "shop_copy"))
        let clean = try StackRestoreOptions(
            project: " ", projectDirectory: "/srv/shop2/", volumes: [" uploads", "uploads"], databases: [.init(service: "db", into: " ")]
        ).validated(contents: Self.contents)
        #expect(clean == StackRestoreOptions(projectDirectory: "/srv/shop2", volumes: ["uploads"], databases: [.init(service: "db")]))
        #expect(clean.whole == false && StackRestoreOptions().whole)
    }

    @Test func whatTheSnapshotDoesNotHoldIsNamed() {
        #expect(throws: DomainError.invalid("stack.volumes", "the snapshot of stack shop holds no volume cache; it holds: pgdata, uploads")) {
            try StackRestoreOptions(volumes: ["cache"]).validated(contents: Self.contents)
        }
        #expect(throws: DomainError.self) { try StackRestoreOptions(databases: [.init(service: "app")]).validated(contents: Self.contents) }
        #expect(throws: DomainError.self) { try StackRestoreOptions(databases: [.init(service: "db"), .init(service: "db")]).validated() }
        #expect(throws: DomainError.self) { try StackRestoreOptions(project: "Shop!").validated() }
        #expect(throws: DomainError.self) { try StackRestoreOptions(projectDirectory: "/srv/../etc").validated() }
        #expect(throws: DomainError.self) { try StackRestoreOptions(databases: [.init(service: "db", into: "a b")]).validated() }
        // Without the snapshot's contents (an older snapshot) the names pass; the agent checks them.
        #expect(throws: Never.self) { try StackRestoreOptions(volumes: ["cache"]).validated() }
    }

    @Test func aStackPlanRestoresNoFilesAndAnEmptyObjectIsTheWholeStack() throws {
        let plan = RestorePlan(
            snapshotID: "snp", sourceServerID: "srv", destinationID: "dst", resticSnapshotIDs: ["a"], files: true, target: nil, includes: [],
            databases: [], overwrite: false, dryRun: true, stack: StackRestoreOptions())
        #expect(throws: DomainError.self) { try plan.validated() }
        var stackOnly = plan
        stackOnly.files = false
        #expect(try stackOnly.validated().stack == StackRestoreOptions())
        let decoded = try JSONDecoder().decode(StackRestoreOptions.self, from: Data("{}".utf8))
        #expect(decoded.whole)
    }
}
