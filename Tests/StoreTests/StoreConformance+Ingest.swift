import BackupCore
import Foundation
import LinkProtocol
import Store
import Testing

/// Ingestion of agents' run events, on every backend: each event once, in any order, by its own server only.
@Suite("Store conformance: run event ingestion")
struct IngestConformanceTests {
    struct Fleet {
        let account: Account
        let web: Server, db: Server
        let nas: Destination
        let site: Job, dump: Job

        static func make(_ seed: StoreSeed) async throws -> Fleet {
            let account = try await seed.account("ingest")
            let web = try await seed.server(account, "web1")
            let db = try await seed.server(account, "db1")
            let nas = try await seed.destination(account, "nas")
            return Fleet(
                account: account, web: web, db: db, nas: nas,
                site: try await seed.job(account, web, "site", destinations: [nas]),
                dump: try await seed.job(account, db, "dump", destinations: [nas]))
        }
    }

    static func event(_ kind: RunEventKind, _ run: Run, snapshotAt: Date? = nil, pruned: [PrunedCopies] = []) -> RunEvent {
        let snapshot = snapshotAt.map {
            Snapshot(
                id: ResourceID.make(.snapshot), accountID: "", serverID: "", jobID: "", runID: run.id, createdAt: $0,
                copies: [
                    SnapshotCopy(destinationID: run.results.first?.destinationID ?? "", resticSnapshotIDs: ["r\(run.id.suffix(7))"], bytesTotal: 1000)
                ])
        }
        return RunEvent(
            id: "evt_" + UUID().uuidString, kind: kind, run: run, progress: kind == .progress ? RunProgress(percentDone: 0.5) : nil,
            snapshot: snapshot, pruned: pruned)
    }

    static func started(_ seed: StoreSeed, _ job: Job, slot: Date? = nil) -> Run {
        var run = seed.makeRun(job, createdAt: StoreSeed.at(60), status: .running, slot: slot)
        run.finishedAt = nil
        run.results = run.results.map {
            var result = $0
            result.status = .running
            return result
        }
        return run
    }

    static func finished(_ run: Run, _ status: RunStatus = .succeeded) -> Run {
        var done = run
        done.status = status
        done.finishedAt = run.createdAt.addingTimeInterval(30)
        done.results = run.results.map {
            var result = $0
            result.status = status == .succeeded ? .succeeded : .failed
            return result
        }
        return done
    }

    @Test(arguments: StoreKind.tested)
    func startThenFinishRecordsOneRunAndOneSnapshot(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let seed = StoreSeed(store: store)
            let fleet = try await Fleet.make(seed)
            let run = Self.started(seed, fleet.site)
            #expect(
                try await store.ingest(Self.event(.started, run), accountID: fleet.account.id, serverID: fleet.web.id, now: StoreSeed.at(61))
                    == .write(RunWrite(inserts: true, finishes: false, jobID: fleet.site.id, trigger: run.trigger, recordsSnapshot: false)))
            #expect(try await store.run(accountID: fleet.account.id, id: run.id)?.status == .running)

            let progress = Self.event(.progress, run)
            #expect(try await store.ingest(progress, accountID: fleet.account.id, serverID: fleet.web.id, now: StoreSeed.at(70)) == .progress)
            #expect(try await store.run(accountID: fleet.account.id, id: run.id)?.progress?.percentDone == 0.5)
            // The same event id again changes nothing.
            #expect(try await store.ingest(progress, accountID: fleet.account.id, serverID: fleet.web.id, now: StoreSeed.at(71)) == nil)

            let finish = Self.event(.finished, Self.finished(run), snapshotAt: StoreSeed.at(90))
            let decision = try await store.ingest(finish, accountID: fleet.account.id, serverID: fleet.web.id, now: StoreSeed.at(91))
            #expect(decision == .write(RunWrite(inserts: false, finishes: true, jobID: fleet.site.id, trigger: run.trigger, recordsSnapshot: true)))
            let stored = try #require(try await store.run(accountID: fleet.account.id, id: run.id))
            #expect(stored.status == .succeeded)
            #expect(stored.progress == nil)
            let snapshot = try #require(try await store.snapshot(accountID: fleet.account.id, runID: run.id))
            #expect(snapshot.jobID == fleet.site.id && snapshot.serverID == fleet.web.id)
        }
    }

    @Test(arguments: StoreKind.tested)
    func lateAndResentEventsNeverReopenOrRepeat(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let seed = StoreSeed(store: store)
            let fleet = try await Fleet.make(seed)
            // An older snapshot of the job, with a copy retention will remove.
            let old = try await seed.run(fleet.site, createdAt: StoreSeed.at(0))
            let oldSnapshot = try await seed.snapshot(
                old, copies: [SnapshotCopy(destinationID: fleet.nas.id, resticSnapshotIDs: ["0ldc0py1"], bytesTotal: 10)])
            let run = Self.started(seed, fleet.site)
            let account = fleet.account.id
            let web = fleet.web.id

            // The end arrives before the start (out of order): the run is recorded from its end.
            let pruned = [PrunedCopies(destinationID: fleet.nas.id, resticSnapshotIDs: ["0ldc0py1"])]
            let end = Self.event(.finished, Self.finished(run, .partial), snapshotAt: StoreSeed.at(90), pruned: pruned)
            #expect(
                try await store.ingest(end, accountID: account, serverID: web, now: StoreSeed.at(91))
                    == .write(RunWrite(inserts: true, finishes: true, jobID: fleet.site.id, trigger: run.trigger, recordsSnapshot: true)))
            #expect(try await store.snapshot(accountID: account, id: oldSnapshot.id) == nil)
            let snapshot = try #require(try await store.snapshot(accountID: account, runID: run.id))

            // The late start, late progress and a re-sent end (new event id) change nothing.
            #expect(
                try await store.ingest(Self.event(.started, run), accountID: account, serverID: web, now: StoreSeed.at(92))
                    == .ignore(.alreadyFinished))
            #expect(
                try await store.ingest(Self.event(.progress, run), accountID: account, serverID: web, now: StoreSeed.at(93))
                    == .ignore(.alreadyFinished))
            var again = Self.event(.finished, Self.finished(run, .succeeded), snapshotAt: StoreSeed.at(95), pruned: pruned)
            again.snapshot?.copies[0].resticSnapshotIDs = ["another1"]
            #expect(try await store.ingest(again, accountID: account, serverID: web, now: StoreSeed.at(96)) == .ignore(.alreadyFinished))
            let stored = try #require(try await store.run(accountID: account, id: run.id))
            #expect(stored.status == .partial)
            #expect(try await store.snapshot(accountID: account, runID: run.id) == snapshot)
        }
    }

    @Test(arguments: StoreKind.tested)
    func anotherServersRunsAndJobsAreUntouchable(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let seed = StoreSeed(store: store)
            let fleet = try await Fleet.make(seed)
            let account = fleet.account.id
            // db1 claims a run of web1's job.
            let forged = Self.started(seed, fleet.site)
            #expect(
                try await store.ingest(
                    Self.event(.finished, Self.finished(forged), snapshotAt: StoreSeed.at(90)), accountID: account,
                    serverID: fleet.db.id, now: StoreSeed.at(91)) == .ignore(.otherServersJob))
            #expect(try await store.run(accountID: account, id: forged.id) == nil)

            // db1 reports on web1's real run.
            let real = Self.started(seed, fleet.site)
            _ = try await store.ingest(Self.event(.started, real), accountID: account, serverID: fleet.web.id, now: StoreSeed.at(61))
            #expect(
                try await store.ingest(
                    Self.event(.finished, Self.finished(real, .failed)), accountID: account, serverID: fleet.db.id,
                    now: StoreSeed.at(91)) == .ignore(.otherServersRun))
            #expect(try await store.run(accountID: account, id: real.id)?.status == .running)

            // A restore run the hub never created.
            var restore = Self.started(seed, fleet.dump)
            restore.trigger = .restore
            #expect(
                try await store.ingest(Self.event(.started, restore), accountID: account, serverID: fleet.db.id, now: StoreSeed.at(61))
                    == .ignore(.unknownRestore))
            #expect(try await store.run(accountID: account, id: restore.id) == nil)
        }
    }

    @Test(arguments: StoreKind.tested)
    func aRestoreRunOfAnotherServersSnapshotFinishesWithoutASnapshot(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let seed = StoreSeed(store: store)
            let fleet = try await Fleet.make(seed)
            let account = fleet.account.id
            // The hub queues a restore of web1's job onto db1 (recovery onto another server).
            var restore = seed.makeRun(fleet.site, createdAt: StoreSeed.at(60), status: .queued)
            restore.trigger = .restore
            restore.serverID = fleet.db.id
            restore.finishedAt = nil
            try await store.insertRun(restore)
            var claimed = Self.finished(restore)
            claimed.jobID = fleet.dump.id  // the event cannot move the run to another job
            let decision = try await store.ingest(
                Self.event(.finished, claimed, snapshotAt: StoreSeed.at(90)), accountID: account,
                serverID: fleet.db.id, now: StoreSeed.at(91))
            #expect(decision == .write(RunWrite(inserts: false, finishes: true, jobID: fleet.site.id, trigger: .restore, recordsSnapshot: false)))
            let stored = try #require(try await store.run(accountID: account, id: restore.id))
            #expect(stored.status == .succeeded && stored.jobID == fleet.site.id)
            #expect(try await store.snapshot(accountID: account, runID: restore.id) == nil)
        }
    }

    @Test(arguments: StoreKind.tested)
    func slotsAndSnapshotDatesAreBounded(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let seed = StoreSeed(store: store)
            let fleet = try await Fleet.make(seed)
            let account = fleet.account.id
            let web = fleet.web.id
            let slot = StoreSeed.at(3600)
            let first = Self.started(seed, fleet.site, slot: slot)
            _ = try await store.ingest(Self.event(.started, first), accountID: account, serverID: web, now: StoreSeed.at(61))
            // A second run for the same slot (another trigger) is not recorded twice.
            let second = Self.started(seed, fleet.site, slot: slot)
            #expect(
                try await store.ingest(Self.event(.started, second), accountID: account, serverID: web, now: StoreSeed.at(62)) == .ignore(.slotTaken))
            #expect(try await store.run(accountID: account, id: second.id) == nil)

            // A snapshot dated in 2100 is dated within its run (no later than the run's end).
            let now = StoreSeed.at(91)
            let future = Date(timeIntervalSince1970: 4_102_444_800)
            let end = Self.finished(first)
            _ = try await store.ingest(Self.event(.finished, end, snapshotAt: future), accountID: account, serverID: web, now: now)
            let snapshot = try #require(try await store.snapshot(accountID: account, runID: first.id))
            #expect(snapshot.createdAt == end.finishedAt)
        }
    }

    @Test(arguments: StoreKind.tested)
    func aRunDatedInTheFutureNeitherStaysNewestNorProtectsTheJob(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let seed = StoreSeed(store: store)
            let fleet = try await Fleet.make(seed)
            let account = fleet.account.id
            let web = fleet.web.id
            let year2100 = Date(timeIntervalSince1970: 4_102_444_800)
            var forged = Self.finished(Self.started(seed, fleet.site))
            forged.createdAt = year2100
            forged.startedAt = year2100
            forged.finishedAt = year2100.addingTimeInterval(60)
            let now = StoreSeed.at(100)
            _ = try await store.ingest(Self.event(.finished, forged, snapshotAt: year2100), accountID: account, serverID: web, now: now)
            let stored = try #require(try await store.run(accountID: account, id: forged.id))
            let latest = now.addingTimeInterval(RunLifecycle.clockTolerance)
            #expect(stored.createdAt <= latest && (stored.startedAt ?? year2100) <= latest && (stored.finishedAt ?? year2100) <= latest)
            #expect(try #require(try await store.snapshot(accountID: account, runID: forged.id)).createdAt <= latest)

            // The next real run, an hour later, is the job's newest run again.
            var next = Self.started(seed, fleet.site)
            next.createdAt = StoreSeed.at(3700)
            next.startedAt = next.createdAt
            let later = Self.finished(next, .failed)
            _ = try await store.ingest(Self.event(.finished, later), accountID: account, serverID: web, now: StoreSeed.at(3800))
            let status = try #require(try await store.jobStatuses(accountID: account, jobIDs: [fleet.site.id]).first)
            #expect(status.latestRun?.id == next.id && status.latestRun?.status == .failed)
        }
    }

    @Test(arguments: StoreKind.tested)
    func snapshotsAreDatedWithinTheirRunAndCopiedOnlyToTheJobsDestinations(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let seed = StoreSeed(store: store)
            let fleet = try await Fleet.make(seed)
            let other = try await seed.account("elsewhere")
            let foreign = try await seed.destination(other, "their-nas")
            let account = fleet.account.id
            let web = fleet.web.id

            // Dated before its run started (1970): dated at the run's start.
            let old = Self.finished(Self.started(seed, fleet.site))
            _ = try await store.ingest(
                Self.event(.finished, old, snapshotAt: Date(timeIntervalSince1970: 0)), accountID: account, serverID: web, now: StoreSeed.at(91))
            #expect(try await store.snapshot(accountID: account, runID: old.id)?.createdAt == old.startedAt)

            // A copy at another account's destination is not recorded; one at the job's own is.
            let run = Self.finished(Self.started(seed, fleet.site))
            var event = Self.event(.finished, run, snapshotAt: StoreSeed.at(70))
            event.snapshot?.copies.append(SnapshotCopy(destinationID: foreign.id, resticSnapshotIDs: ["f0reign1"], bytesTotal: 1))
            _ = try await store.ingest(event, accountID: account, serverID: web, now: StoreSeed.at(91))
            let snapshot = try #require(try await store.snapshot(accountID: account, runID: run.id))
            #expect(snapshot.copies.map(\.destinationID) == [fleet.nas.id])

            let onlyForeign = Self.finished(Self.started(seed, fleet.site))
            var forged = Self.event(.finished, onlyForeign, snapshotAt: StoreSeed.at(70))
            forged.snapshot?.copies = [SnapshotCopy(destinationID: foreign.id, resticSnapshotIDs: ["f0reign2"], bytesTotal: 1)]
            _ = try await store.ingest(forged, accountID: account, serverID: web, now: StoreSeed.at(91))
            #expect(try await store.snapshot(accountID: account, runID: onlyForeign.id) == nil)
            #expect(try await store.snapshot(accountID: other.id, runID: onlyForeign.id) == nil)
        }
    }

    @Test(arguments: StoreKind.tested)
    func aRestoreRunCannotTakeTheSlotOfTheJobItRestores(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let seed = StoreSeed(store: store)
            let fleet = try await Fleet.make(seed)
            let account = fleet.account.id
            // The hub queues a restore of web1's job onto db1; db1 claims web1's next slot with it.
            var restore = seed.makeRun(fleet.site, createdAt: StoreSeed.at(60), status: .queued)
            restore.trigger = .restore
            restore.serverID = fleet.db.id
            restore.finishedAt = nil
            try await store.insertRun(restore)
            let slot = StoreSeed.at(7200)
            var claimed = Self.finished(restore)
            claimed.slot = slot
            _ = try await store.ingest(Self.event(.finished, claimed), accountID: account, serverID: fleet.db.id, now: StoreSeed.at(91))
            #expect(try await store.run(accountID: account, id: restore.id)?.slot == nil)

            // web1's own run of that slot is still recorded.
            let own = Self.started(seed, fleet.site, slot: slot)
            #expect(
                try await store.ingest(Self.event(.started, own), accountID: account, serverID: fleet.web.id, now: StoreSeed.at(7201))
                    == .write(RunWrite(inserts: true, finishes: false, jobID: fleet.site.id, trigger: own.trigger, recordsSnapshot: false)))
        }
    }

    @Test(arguments: StoreKind.tested)
    func aRunOfAJobTheHubDoesNotKnowIsNotRecorded(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let seed = StoreSeed(store: store)
            let fleet = try await Fleet.make(seed)
            var run = Self.finished(Self.started(seed, fleet.site))
            run.jobID = ResourceID.make(.job)
            #expect(
                try await store.ingest(
                    Self.event(.finished, run, snapshotAt: StoreSeed.at(70)), accountID: fleet.account.id, serverID: fleet.web.id,
                    now: StoreSeed.at(91)) == .ignore(.unknownJob))
            #expect(try await store.run(accountID: fleet.account.id, id: run.id) == nil)
        }
    }
}

/// Run now: the check for an active run and the insert are one transaction.
@Suite("Store conformance: queueing runs")
struct QueueRunConformanceTests {
    @Test(arguments: StoreKind.tested)
    func concurrentRunNowsQueueOneRunAndOneCommand(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let seed = StoreSeed(store: store)
            let fleet = try await IngestConformanceTests.Fleet.make(seed)
            let job = fleet.site
            let outcomes = try await withThrowingTaskGroup(of: Bool.self) { group in
                for _ in 0..<6 {
                    group.addTask {
                        let run = Run(
                            id: ResourceID.make(.run), accountID: job.accountID, serverID: job.serverID, jobID: job.id, trigger: .manual,
                            status: .queued, createdAt: StoreSeed.at(10))
                        let command = AgentCommand(
                            id: ResourceID.make(.command), kind: .runNow, jobID: job.id, runID: run.id, createdAt: run.createdAt)
                        do {
                            try await store.queueRun(run, command: command)
                            return true
                        } catch let error as DomainError {
                            #expect(error.code == .conflict && error.message.contains("already has a queued run"), "\(error)")
                            return false
                        }
                    }
                }
                return try await group.reduce(into: [Bool]()) { $0.append($1) }
            }
            #expect(outcomes.filter { $0 }.count == 1)
            let queued = try await store.runs(accountID: job.accountID, filter: RunFilter(jobID: job.id, status: .queued), after: nil, limit: 10)
                .items
            #expect(queued.count == 1)
            let commands = try await store.pendingCommands(serverID: job.serverID)
            #expect(commands.map(\.runID) == [queued.first?.id])
        }
    }
}
