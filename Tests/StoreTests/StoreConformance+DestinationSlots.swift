import BackupCore
import Foundation
import Store
import Testing

@Suite("Store conformance: destination slots (concurrency caps across servers)")
struct DestinationSlotsConformanceTests {
    @Test(arguments: StoreKind.tested)
    func slotsAreGrantedInOrderRenewedReleasedAndExpire(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let seed = StoreSeed(store: store)
            let account = try await seed.account("slots")
            let web1 = try await seed.server(account, "web1")
            let web2 = try await seed.server(account, "web2")
            let web3 = try await seed.server(account, "web3")
            let bucket = try await seed.destination(account, "bucket")
            let t0 = StoreSeed.t0
            func claim(_ server: Server, _ run: String, at seconds: Double, limit: Int = 1) async throws -> DestinationSlotGrant {
                let now = StoreSeed.at(seconds)
                return try await store.claimDestinationSlot(
                    DestinationSlotClaim(
                        accountID: account.id, serverID: server.id, destinationID: bucket.id, jobID: "job_\(server.name)", runID: run),
                    limit: limit, until: now.addingTimeInterval(90), now: now)
            }
            let first = try await claim(web1, "run_a", at: 0)
            #expect(first.granted && first.position == 0)
            let second = try await claim(web2, "run_b", at: 1)
            #expect(!second.granted && second.position == 1, "over the cap: waits, first in line")
            let third = try await claim(web3, "run_c", at: 2)
            #expect(!third.granted && third.position == 2)
            // Renewal keeps the holder; asking again keeps each waiter's place.
            #expect(try await claim(web1, "run_a", at: 30).granted)
            #expect(try await claim(web3, "run_c", at: 31).position == 2)
            let line = try await store.destinationSlots(accountID: account.id, destinationID: bucket.id, now: StoreSeed.at(32))
            #expect(line.map(\.runID) == ["run_a", "run_b", "run_c"])
            #expect(line.map(\.position) == [0, 1, 2])
            #expect(try await store.destinationSlots(accountID: "acct_other", destinationID: bucket.id, now: StoreSeed.at(32)).isEmpty)
            // The holder ends: the first in line gets the slot, the next moves up.
            try await store.releaseDestinationSlot(accountID: account.id, destinationID: bucket.id, runID: "run_a")
            let promoted = try await claim(web2, "run_b", at: 40)
            #expect(promoted.granted && promoted.position == 0)
            #expect(try await claim(web3, "run_c", at: 41).position == 1)
            // A crashed holder (no renewal): its slot frees once it expires, and the line moves on.
            #expect(try await !claim(web3, "run_c", at: 100).granted, "run_b's claim still holds until 130")
            let afterExpiry = try await claim(web3, "run_c", at: 131)
            #expect(afterExpiry.granted, "run_b expired at 130: its slot went to run_c")
            #expect(
                try await store.destinationSlots(accountID: account.id, destinationID: bucket.id, now: StoreSeed.at(131)).map(\.runID) == ["run_c"])
            // A cap of two grants two at once.
            let d = try await claim(web1, "run_d", at: 140, limit: 2)
            #expect(d.granted)
            #expect(try await !claim(web2, "run_e", at: 141, limit: 2).granted)
            // Another account cannot claim this account's destination.
            await #expect(throws: DomainError.self) {
                _ = try await store.claimDestinationSlot(
                    DestinationSlotClaim(accountID: "acct_other", serverID: web1.id, destinationID: bucket.id, jobID: "j", runID: "run_x"),
                    limit: 1, until: t0.addingTimeInterval(60), now: t0)
            }
        }
    }

    @Test(arguments: StoreKind.tested)
    func capsWindowsAndSpreadRoundTrip(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let seed = StoreSeed(store: store)
            let account = try await seed.account("caps")
            var server = try await seed.server(account, "web1")
            var bucket = try await seed.destination(account, "bucket")
            var job = try await seed.job(account, server, "site", destinations: [bucket])
            #expect(job.window == nil && job.spreadSeconds == nil && bucket.maxConcurrentRuns == nil && server.maxConcurrentRuns == nil)
            job.window = try BackupWindow.parse("22:00-04:30")
            job.spreadSeconds = 1800
            try await store.updateJob(job)
            #expect(try await store.job(accountID: account.id, id: job.id) == job)
            let status = try #require(try await store.jobStatuses(accountID: account.id, jobIDs: [job.id]).first)
            #expect(status.window == job.window && status.spreadSeconds == 1800)
            bucket.maxConcurrentRuns = 3
            try await store.updateDestination(bucket)
            #expect(try await store.destination(accountID: account.id, reference: bucket.id)?.maxConcurrentRuns == 3)
            server.maxConcurrentRuns = 1
            try await store.updateServer(server)
            #expect(try await store.server(accountID: account.id, reference: server.id)?.maxConcurrentRuns == 1)
            job.window = nil
            job.spreadSeconds = nil
            try await store.updateJob(job)
            let cleared = try #require(try await store.job(accountID: account.id, id: job.id))
            #expect(cleared.window == nil && cleared.spreadSeconds == nil)
        }
    }
}
