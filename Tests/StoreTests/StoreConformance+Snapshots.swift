import BackupCore
import Foundation
import Store
import Testing

@Suite("Store conformance: snapshots and the fleet summary")
struct SnapshotConformanceTests {
    @Test(arguments: StoreKind.tested)
    func snapshotsKeepTheirCopies(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let seed = StoreSeed(store: store)
            let account = try await seed.account("snaps")
            let server = try await seed.server(account, "web1")
            let nas = try await seed.destination(account, "nas")
            let usb = try await seed.destination(account, "usb")
            let job = try await seed.job(account, server, "site", destinations: [nas, usb])
            let run = try await seed.run(job, createdAt: StoreSeed.at(60))
            let copies = [
                SnapshotCopy(destinationID: nas.id, resticSnapshotIDs: ["4f1a2b3c", "5e6d7c8b"], bytesAdded: 1_000, bytesTotal: 7_000_000_000),
                SnapshotCopy(destinationID: usb.id, resticSnapshotIDs: ["9a8b7c6d"], bytesAdded: 2_000, bytesTotal: 6_000_000_000),
            ]
            let snapshot = try await seed.snapshot(run, copies: copies)

            let loaded = try #require(try await store.snapshot(accountID: account.id, id: snapshot.id))
            #expect(loaded.id == snapshot.id)
            #expect(loaded.runID == run.id)
            #expect(Set(loaded.copies.map(\.destinationID)) == [nas.id, usb.id])
            #expect(loaded.copies.first { $0.destinationID == nas.id } == copies[0])
            #expect(loaded.copies.first { $0.destinationID == usb.id } == copies[1])
            #expect(try await store.snapshot(accountID: account.id, id: ResourceID.make(.snapshot)) == nil)

            await expectDomainError(.conflict, field: "runID") { try await seed.snapshot(run) }
        }
    }

    @Test(arguments: StoreKind.tested)
    func snapshotsAreFilteredAndPaged(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let seed = StoreSeed(store: store)
            let account = try await seed.account("snaplist")
            let web = try await seed.server(account, "web1")
            let db = try await seed.server(account, "db1")
            let nas = try await seed.destination(account, "nas")
            let usb = try await seed.destination(account, "usb")
            let site = try await seed.job(account, web, "site", destinations: [nas, usb])
            let dump = try await seed.job(account, db, "dump", destinations: [nas])
            var snapshots: [Snapshot] = []
            for index in 0..<30 {
                let job = index % 3 == 0 ? dump : site
                // Some runs reached only the first destination.
                let destinations = index % 5 == 0 ? [job.destinationIDs[0]] : job.destinationIDs
                let run = try await seed.run(job, createdAt: StoreSeed.at(Double(index / 2) * 60), destinations: destinations)
                snapshots.append(try await seed.snapshot(run))
            }
            func expected(_ include: (Snapshot) -> Bool) -> [String] {
                snapshots.filter(include).sorted { ($0.createdAt, $0.id) > ($1.createdAt, $1.id) }.map(\.id)
            }
            func all(_ filter: SnapshotFilter, limit: Int) async throws -> [Snapshot] {
                var items: [Snapshot] = []
                var cursor: Cursor?
                var pages = 0
                repeat {
                    let page = try await store.snapshots(accountID: account.id, filter: filter, after: cursor, limit: limit)
                    #expect(page.items.count <= limit)
                    items += page.items
                    cursor = page.nextCursor
                    pages += 1
                } while cursor != nil && pages < 100
                return items
            }

            #expect(try await all(SnapshotFilter(), limit: 7).map(\.id) == expected { _ in true })
            #expect(try await all(SnapshotFilter(serverID: db.id), limit: 4).map(\.id) == expected { $0.serverID == db.id })
            #expect(try await all(SnapshotFilter(jobID: site.id), limit: 100).map(\.id) == expected { $0.jobID == site.id })
            let onUSB = try await all(SnapshotFilter(destinationID: usb.id), limit: 3)
            #expect(onUSB.map(\.id) == expected { $0.copies.contains { $0.destinationID == usb.id } })
            #expect(onUSB.allSatisfy { $0.copies.count == 2 }, "a destination filter still returns every copy of each snapshot")
            let since = StoreSeed.at(5 * 60)
            let until = StoreSeed.at(10 * 60)
            #expect(
                try await all(SnapshotFilter(since: since, until: until), limit: 3).map(\.id)
                    == expected { $0.createdAt >= since && $0.createdAt < until })
            #expect(
                try await all(SnapshotFilter(serverID: web.id, destinationID: nas.id, since: since), limit: 2).map(\.id)
                    == expected { $0.serverID == web.id && $0.createdAt >= since && $0.copies.contains { $0.destinationID == nas.id } })

            let first = try await store.snapshots(accountID: account.id, filter: SnapshotFilter(), after: nil, limit: 10)
            #expect(first.items.count == 10)
            #expect(first.items.allSatisfy { !$0.copies.isEmpty }, "listings return copies")
            #expect(first.nextCursor == first.items.last.map { Cursor(createdAt: $0.createdAt, id: $0.id) })
        }
    }

    @Test(arguments: StoreKind.tested)
    func fleetSummaryCountsTheAccount(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let seed = StoreSeed(store: store)
            let account = try await seed.account("fleet")
            let empty = try await store.fleetSummary(accountID: account.id, now: StoreSeed.at(86_400))
            #expect(empty == FleetSummary(), "an empty account counts zero")

            var web = try await seed.server(account, "web1")
            let db = try await seed.server(account, "db1")
            try await seed.server(account, "spare")
            web.enrolledAt = StoreSeed.at(1)
            try await store.updateServer(web)
            let nas = try await seed.destination(account, "nas")
            let usb = try await seed.destination(account, "usb")
            let site = try await seed.job(account, web, "site", destinations: [nas, usb])
            let dump = try await seed.job(account, db, "dump", destinations: [nas])
            try await seed.job(account, db, "paused", destinations: [nas], enabled: false)

            let now = StoreSeed.at(2 * 86_400)
            // Older than 24 hours: counted as snapshots but not as recent runs.
            let old = try await seed.run(site, createdAt: StoreSeed.at(1000), status: .failed)
            try await seed.snapshot(old, copies: [SnapshotCopy(destinationID: nas.id, resticSnapshotIDs: ["o"], bytesTotal: 111)])
            let siteNewest = try await seed.run(site, createdAt: now.addingTimeInterval(-3600), status: .succeeded)
            try await seed.snapshot(
                siteNewest,
                copies: [
                    SnapshotCopy(destinationID: nas.id, resticSnapshotIDs: ["a"], bytesTotal: 5_000_000_000),
                    SnapshotCopy(destinationID: usb.id, resticSnapshotIDs: ["b"], bytesTotal: 4_000_000_000),
                ])
            let siteEarlier = try await seed.run(site, createdAt: now.addingTimeInterval(-7200), status: .partial)
            try await seed.snapshot(siteEarlier, copies: [SnapshotCopy(destinationID: nas.id, resticSnapshotIDs: ["c"], bytesTotal: 999)])
            let dumpRun = try await seed.run(dump, createdAt: now.addingTimeInterval(-60), status: .succeeded)
            try await seed.snapshot(dumpRun, copies: [SnapshotCopy(destinationID: nas.id, resticSnapshotIDs: ["d"], bytesTotal: 250)])
            try await seed.run(dump, createdAt: now.addingTimeInterval(-30), status: .failed)
            try await seed.run(dump, createdAt: now.addingTimeInterval(-20), status: .interrupted)
            try await seed.run(site, createdAt: now.addingTimeInterval(-10), status: .running)

            var fetched: FleetSummary?
            fetched = try await store.fleetSummary(accountID: account.id, now: now)
            guard let summary = fetched else { return }
            #expect(summary.servers == 3)
            #expect(summary.serversEnrolled == 1)
            #expect(summary.destinations == 2)
            #expect(summary.jobs == 3)
            #expect(summary.jobsEnabled == 2)
            #expect(summary.snapshots == 4)
            #expect(summary.protectedBytes == 5_000_000_000 + 250, "the newest snapshot of each job, its largest copy")
            #expect(summary.runsLast24h == ["succeeded": 2, "partial": 1, "failed": 1, "interrupted": 1, "running": 1])
            #expect(summary.lastFailures == 3)
        }
    }
}
