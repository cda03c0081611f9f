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
}
