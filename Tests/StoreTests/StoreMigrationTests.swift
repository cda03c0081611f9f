import BackupCore
import Foundation
import SQLKit
import Store
import Testing

@Suite("Store migrations")
struct StoreMigrationTests {
    @Test(arguments: StoreKind.tested)
    func reopeningAStoreKeepsDataAndAppliesNothingTwice(kind: StoreKind) async throws {
        try await withStoreLocation(kind) { location in
            let first = try await location.open()
            let seed = StoreSeed(store: first)
            let account: Account
            let server: Server
            do {
                account = try await seed.account("persisted")
                server = try await seed.server(account, "web1")
                await first.shutdown()
            } catch {
                await first.shutdown()
                throw error
            }

            for _ in 0..<2 {
                let again = try await location.open()
                do {
                    #expect(try await again.account(id: account.id) == account)
                    #expect(try await again.server(accountID: account.id, reference: "web1") == server)
                    let versions = try await again.backend.withDatabase { db in
                        try await db.raw("SELECT version FROM schema_migrations ORDER BY version").all().map {
                            try $0.decode(column: "version", as: Int.self)
                        }
                    }
                    #expect(!versions.isEmpty)
                    #expect(versions == Array(Set(versions)).sorted(), "each migration is recorded once")
                    await again.shutdown()
                } catch {
                    await again.shutdown()
                    throw error
                }
            }
        }
    }

    @Test(arguments: StoreKind.tested)
    func theStoreReportsItsDialect(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            #expect(store.backend.dialect.rawValue == kind.rawValue)
        }
    }

    /// Three hub replicas starting together on one empty PostgreSQL database: each opens, the
    /// schema is applied once (the others wait on the advisory lock and find it recorded).
    @Test(.enabled(if: StoreKind.tested.contains(.postgresql)))
    func replicasStartingTogetherMigrateOnce() async throws {
        try await withStoreLocation(.postgresql) { location in
            let opened = await withTaskGroup(of: Result<SQLHubStore, any Error>.self) { group in
                for _ in 0..<3 {
                    group.addTask {
                        do { return .success(try await location.open()) } catch { return .failure(error) }
                    }
                }
                return await group.reduce(into: [Result<SQLHubStore, any Error>]()) { $0.append($1) }
            }
            let stores = opened.compactMap { try? $0.get() }
            for case .failure(let error) in opened { Issue.record("a replica failed to open: \(error)") }
            #expect(stores.count == 3)
            if let store = stores.first {
                let versions = try await store.backend.withDatabase { db in
                    try await db.raw("SELECT version FROM schema_migrations ORDER BY version").all().map {
                        try $0.decode(column: "version", as: Int.self)
                    }
                }
                #expect(versions == Array(1...versions.count), "every step recorded exactly once: \(versions)")
                let account = try await StoreSeed(store: store).account("after-migration")
                #expect(try await stores.last?.account(id: account.id) == account, "the replicas share one schema")
            }
            for store in stores { await store.shutdown() }
        }
    }
}

/// Leases: one hub replica at a time does the notifier's work.
@Suite("Store conformance: leases")
struct LeaseConformanceTests {
    @Test(arguments: StoreKind.tested)
    func oneHolderAtATimeUntilItExpiresOrIsReleased(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let t0 = StoreSeed.t0
            #expect(try await store.acquireLease("notifier", holder: "a", until: t0.addingTimeInterval(60), now: t0))
            #expect(try await !store.acquireLease("notifier", holder: "b", until: t0.addingTimeInterval(70), now: t0.addingTimeInterval(10)))
            #expect(
                try await store.acquireLease("notifier", holder: "a", until: t0.addingTimeInterval(90), now: t0.addingTimeInterval(30)), "renewed")
            #expect(try await !store.acquireLease("notifier", holder: "b", until: t0.addingTimeInterval(120), now: t0.addingTimeInterval(80)))
            #expect(try await store.acquireLease("other", holder: "b", until: t0.addingTimeInterval(60), now: t0), "leases are per name")
            #expect(
                try await store.acquireLease("notifier", holder: "b", until: t0.addingTimeInterval(150), now: t0.addingTimeInterval(90)), "expired")
            #expect(try await !store.acquireLease("notifier", holder: "a", until: t0.addingTimeInterval(160), now: t0.addingTimeInterval(100)))
            try await store.releaseLease("notifier", holder: "a")
            #expect(
                try await !store.acquireLease("notifier", holder: "a", until: t0.addingTimeInterval(160), now: t0.addingTimeInterval(100)),
                "a cannot release b's lease")
            try await store.releaseLease("notifier", holder: "b")
            #expect(
                try await store.acquireLease("notifier", holder: "a", until: t0.addingTimeInterval(160), now: t0.addingTimeInterval(100)), "released")
        }
    }

    @Test(arguments: StoreKind.tested)
    func concurrentTakersGetItOnce(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let t0 = StoreSeed.t0
            let won = try await withThrowingTaskGroup(of: Bool.self) { group in
                for index in 0..<6 {
                    group.addTask { try await store.acquireLease("race", holder: "replica-\(index)", until: t0.addingTimeInterval(60), now: t0) }
                }
                return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
            }
            #expect(won == 1)
        }
    }
}
