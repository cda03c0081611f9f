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
