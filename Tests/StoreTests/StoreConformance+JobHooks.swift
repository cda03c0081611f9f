import BackupCore
import Foundation
import Store
import Testing

@Suite("Store conformance: job hooks and retention per destination")
struct JobHooksConformanceTests {
    @Test(arguments: StoreKind.tested)
    func hooksAndDestinationRetentionRoundTrip(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let seed = StoreSeed(store: store)
            let account = try await seed.account("hooks")
            let server = try await seed.server(account, "web1")
            let nas = try await seed.destination(account, "nas")
            let usb = try await seed.destination(account, "usb")
            var job = try await seed.job(account, server, "site", destinations: [nas, usb])
            #expect(job.hooks == nil && job.destinationRetention == nil)
            job.hooks = JobHooks(before: "pg_ctl stop\necho 'é'", finally: "pg_ctl start", beforePolicy: .cancel, timeoutSeconds: 90)
            job.destinationRetention = [DestinationRetention(destination: usb.id, retention: RetentionPolicy(keepMonthly: 12, keepWithin: "7d"))]
            try await store.updateJob(job)
            #expect(try await store.job(accountID: account.id, id: job.id) == job)
            job.hooks = nil
            job.destinationRetention = nil
            try await store.updateJob(job)
            let cleared = try #require(try await store.job(accountID: account.id, id: job.id))
            #expect(cleared.hooks == nil && cleared.destinationRetention == nil)
        }
    }
}
