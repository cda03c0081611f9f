import BackupCore
import Foundation
import Store
import Testing

@Suite("Store conformance: runs")
struct RunConformanceTests {
    /// Two servers, three jobs, two destinations and runs spread over time and statuses.
    struct History {
        let account: Account
        let web: Server, db: Server
        let nas: Destination, usb: Destination
        let webSite: Job, webDB: Job, dbDump: Job
        let runs: [Run]

        static func make(_ seed: StoreSeed) async throws -> History {
            let account = try await seed.account("history")
            let web = try await seed.server(account, "web1")
            let db = try await seed.server(account, "db1")
            let nas = try await seed.destination(account, "nas")
            let usb = try await seed.destination(account, "usb")
            let webSite = try await seed.job(account, web, "site", destinations: [nas, usb])
            let webDB = try await seed.job(account, web, "db", destinations: [usb])
            let dbDump = try await seed.job(account, db, "dump", destinations: [nas])
            var runs: [Run] = []
            let plan: [(Job, RunStatus)] = [
                (webSite, .succeeded), (webDB, .failed), (dbDump, .succeeded), (webSite, .partial),
                (dbDump, .running), (webDB, .succeeded), (webSite, .failed), (dbDump, .queued),
            ]
            for (index, (job, status)) in plan.enumerated() {
                runs.append(try await seed.run(job, createdAt: StoreSeed.at(Double(index) * 3600), status: status))
            }
            return History(account: account, web: web, db: db, nas: nas, usb: usb, webSite: webSite, webDB: webDB, dbDump: dbDump, runs: runs)
        }

        /// The expected listing: the runs matching `include`, newest first.
        func expected(_ include: (Run) -> Bool) -> [String] {
            runs.filter(include).sorted { ($0.createdAt, $0.id) > ($1.createdAt, $1.id) }.map(\.id)
        }
    }

    @Test(arguments: StoreKind.tested)
    func runsRoundTripAndUpdate(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let seed = StoreSeed(store: store)
            let account = try await seed.account("runs")
            let server = try await seed.server(account, "web1")
            let nas = try await seed.destination(account, "nas")
            let usb = try await seed.destination(account, "usb")
            let job = try await seed.job(account, server, "site", destinations: [nas, usb])

            var run = Run(
                id: ResourceID.make(.run), accountID: account.id, serverID: server.id, jobID: job.id, trigger: .timer, slot: StoreSeed.at(7200),
                status: .queued, createdAt: StoreSeed.at(7200))
            try await store.insertRun(run)
            #expect(try await store.run(accountID: account.id, id: run.id) == run)

            run.status = .partial
            run.startedAt = StoreSeed.at(7201)
            run.finishedAt = StoreSeed.at(7300.5)
            run.bytesAdded = 5_000_000_000
            run.bytesProcessed = 9_000_000_000
            run.filesNew = 12
            run.logExcerpt = "restic: ok\nusb: disk full"
            run.results = [
                DestinationResult(
                    destinationID: nas.id, status: .succeeded, resticSnapshotIDs: ["a1", "a2"], bytesAdded: 100, bytesProcessed: 200,
                    durationSeconds: 12.25),
                DestinationResult(destinationID: usb.id, status: .failed, error: "disk full", bytesAdded: 0, bytesProcessed: 0),
            ]
            try await store.updateRun(run)
            #expect(try await store.run(accountID: account.id, id: run.id) == run)
            #expect(
                try await store.runs(accountID: account.id, filter: RunFilter(destinationID: usb.id), after: nil, limit: 10).items.map(\.id) == [
                    run.id
                ],
                "an update indexes the run under its destinations")
            #expect(try await store.run(accountID: account.id, id: ResourceID.make(.run)) == nil)
        }
    }

    @Test(arguments: StoreKind.tested)
    func aSecondRunForTheSameSlotIsAConflict(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let seed = StoreSeed(store: store)
            let account = try await seed.account("slots")
            let server = try await seed.server(account, "web1")
            let nas = try await seed.destination(account, "nas")
            let job = try await seed.job(account, server, "site", destinations: [nas])
            let other = try await seed.job(account, server, "other", destinations: [nas])
            let slot = StoreSeed.at(9000)

            let first = try await seed.run(job, createdAt: slot, slot: slot)
            await expectDomainError(.conflict) { try await seed.run(job, createdAt: StoreSeed.at(9001), slot: slot) }
            #expect(
                try await store.runs(accountID: account.id, filter: RunFilter(jobID: job.id), after: nil, limit: 10).items.map(\.id) == [first.id],
                "the refused run left nothing behind")
            // The same slot on another job, another slot on the same job, and run-now runs without a slot are all fine.
            try await seed.run(other, createdAt: slot, slot: slot)
            try await seed.run(job, createdAt: StoreSeed.at(9100), slot: StoreSeed.at(9100))
            try await seed.run(job, createdAt: StoreSeed.at(9200))
            try await seed.run(job, createdAt: StoreSeed.at(9300))
            // Reusing a run id is refused too.
            var copy = first
            copy.slot = StoreSeed.at(12_000)
            await expectDomainError(.conflict) { try await store.insertRun(copy) }
        }
    }

    @Test(arguments: StoreKind.tested)
    func runsAreFilteredByEveryFilter(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let history = try await History.make(StoreSeed(store: store))
            let account = history.account.id
            func list(_ filter: RunFilter) async throws -> [String] {
                try await store.runs(accountID: account, filter: filter, after: nil, limit: 100).items.map(\.id)
            }
            #expect(try await list(RunFilter()) == history.expected { _ in true })
            #expect(try await list(RunFilter(serverID: history.web.id)) == history.expected { $0.serverID == history.web.id })
            #expect(try await list(RunFilter(serverID: history.db.id)) == history.expected { $0.serverID == history.db.id })
            #expect(try await list(RunFilter(jobID: history.webSite.id)) == history.expected { $0.jobID == history.webSite.id })
            #expect(
                try await list(RunFilter(destinationID: history.usb.id))
                    == history.expected { $0.results.contains { $0.destinationID == history.usb.id } })
            #expect(
                try await list(RunFilter(destinationID: history.nas.id))
                    == history.expected { $0.results.contains { $0.destinationID == history.nas.id } })
            for status in RunStatus.allCases {
                #expect(try await list(RunFilter(status: status)) == history.expected { $0.status == status }, "status \(status)")
            }
            let since = StoreSeed.at(2 * 3600)
            let until = StoreSeed.at(5 * 3600)
            #expect(try await list(RunFilter(since: since)) == history.expected { $0.createdAt >= since })
            #expect(try await list(RunFilter(until: until)) == history.expected { $0.createdAt < until })
            #expect(try await list(RunFilter(since: since, until: until)) == history.expected { $0.createdAt >= since && $0.createdAt < until })
            #expect(try await list(RunFilter(since: since, until: until)).count == 3, "since is inclusive, until exclusive")
            // Filters combine with AND.
            #expect(
                try await list(RunFilter(serverID: history.web.id, destinationID: history.usb.id, status: .failed))
                    == history.expected {
                        $0.serverID == history.web.id && $0.status == .failed && $0.results.contains { $0.destinationID == history.usb.id }
                    })
            #expect(try await list(RunFilter(jobID: history.dbDump.id, destinationID: history.usb.id)).isEmpty)
            #expect(try await list(RunFilter(serverID: ResourceID.make(.server))).isEmpty)
        }
    }

    /// 120 runs, three per millisecond timestamp so the id breaks ties, paged 50 at a time with new
    /// runs arriving between pages: every original run is returned exactly once, newest first.
    @Test(arguments: StoreKind.tested, [false, true])
    func cursorPaginationIsCompleteAndStable(kind: StoreKind, byDestination: Bool) async throws {
        try await withStore(kind) { store in
            let seed = StoreSeed(store: store)
            let account = try await seed.account("pages")
            let server = try await seed.server(account, "web1")
            let nas = try await seed.destination(account, "nas")
            let job = try await seed.job(account, server, "site", destinations: [nas])
            var runs: [Run] = []
            for index in 0..<120 {
                runs.append(try await seed.run(job, createdAt: StoreSeed.at(Double(index / 3)), status: .succeeded))
            }
            let expected = runs.sorted { ($0.createdAt, $0.id) > ($1.createdAt, $1.id) }.map(\.id)
            let filter = byDestination ? RunFilter(destinationID: nas.id) : RunFilter()

            var seen: [String] = []
            var cursor: Cursor?
            var pages = 0
            repeat {
                let page = try await store.runs(accountID: account.id, filter: filter, after: cursor, limit: 50)
                pages += 1
                seen += page.items.map(\.id)
                #expect(page.items.count == (pages < 3 ? 50 : 20))
                cursor = page.nextCursor
                if let cursor {
                    #expect(cursor.id == page.items.last?.id)
                    // The round trip through the public token keeps the position.
                    #expect(try Cursor.parse(cursor.token) == cursor)
                }
                // Newer runs arrive between pages; they must not shift the pages already handed out.
                try await seed.run(job, createdAt: StoreSeed.at(Double(1000 + pages)), status: .succeeded)
            } while cursor != nil && pages < 10
            #expect(pages == 3)
            #expect(seen == expected, "every run exactly once, newest first")
            #expect(Set(seen).count == 120)
        }
    }

    @Test(arguments: StoreKind.tested)
    func aPageOfExactlyTheLimitHasNoNextCursor(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let seed = StoreSeed(store: store)
            let account = try await seed.account("exact")
            let server = try await seed.server(account, "web1")
            let nas = try await seed.destination(account, "nas")
            let job = try await seed.job(account, server, "site", destinations: [nas])
            for index in 0..<5 { try await seed.run(job, createdAt: StoreSeed.at(Double(index))) }
            let page = try await store.runs(accountID: account.id, filter: RunFilter(), after: nil, limit: 5)
            #expect(page.items.count == 5)
            #expect(page.nextCursor == nil)
            let empty = try await store.runs(accountID: account.id, filter: RunFilter(), after: Cursor(createdAt: StoreSeed.t0, id: "run_"), limit: 5)
            #expect(empty.items.isEmpty)
            #expect(empty.nextCursor == nil)
        }
    }
}
