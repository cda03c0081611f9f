import BackupCore
import Foundation
import LinkProtocol
import Store
import Testing

/// Copy runs (`trigger: copy`): the snapshots the agent reports at the target become copies of
/// the job's existing snapshots there, and nothing else.
@Suite("Store conformance: copy runs")
struct CopyRunConformanceTests {
    @Test(arguments: StoreKind.tested)
    func aCopyRunRecordsCopiesOfTheJobsOwnSnapshotsAtTheJobsTarget(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let seed = StoreSeed(store: store)
            let fleet = try await IngestConformanceTests.Fleet.make(seed)
            let usb = try await seed.destination(fleet.account, "usb")
            let spare = try await seed.destination(fleet.account, "spare")
            let job = try await seed.job(fleet.account, fleet.web, "site2", destinations: [fleet.nas, usb])
            let account = fleet.account.id
            let web = fleet.web.id

            // A backup of the job (to nas) and one of another job.
            let backup = IngestConformanceTests.finished(IngestConformanceTests.started(seed, job))
            _ = try await store.ingest(
                IngestConformanceTests.event(.finished, backup, snapshotAt: StoreSeed.at(70)), accountID: account, serverID: web,
                now: StoreSeed.at(91))
            let dump = IngestConformanceTests.finished(IngestConformanceTests.started(seed, fleet.dump))
            _ = try await store.ingest(
                IngestConformanceTests.event(.finished, dump, snapshotAt: StoreSeed.at(70)), accountID: account, serverID: fleet.db.id,
                now: StoreSeed.at(91))

            func copyRun(to destination: String, _ copied: [CopiedSnapshot]) -> Run {
                var run = IngestConformanceTests.finished(IngestConformanceTests.started(seed, job))
                run.trigger = .copy
                run.results = [
                    DestinationResult(destinationID: destination, status: .succeeded, copiedFrom: fleet.nas.id, copiedSnapshots: copied)
                ]
                return run
            }
            // The job's snapshot gets a copy at usb; another job's snapshot and an unknown run are left out.
            let copy = copyRun(
                to: usb.id,
                [
                    CopiedSnapshot(runID: backup.id, resticSnapshotIDs: ["c0py0001"]),
                    CopiedSnapshot(runID: dump.id, resticSnapshotIDs: ["c0py0002"]),
                    CopiedSnapshot(runID: "run_unknown", resticSnapshotIDs: ["c0py0003"]),
                ])
            let decision = try await store.ingest(
                IngestConformanceTests.event(.finished, copy), accountID: account, serverID: web, now: StoreSeed.at(95))
            #expect(decision == .write(RunWrite(inserts: true, finishes: true, jobID: job.id, trigger: .copy, recordsSnapshot: true)))
            #expect(try await store.snapshot(accountID: account, runID: copy.id) == nil, "a copy run makes no snapshot of its own")
            let copied = try #require(try await store.snapshot(accountID: account, runID: backup.id))
            #expect(Set(copied.copies.map(\.destinationID)) == [fleet.nas.id, usb.id])
            #expect(copied.copies.first { $0.destinationID == usb.id }?.resticSnapshotIDs == ["c0py0001"])
            #expect(copied.copies.first { $0.destinationID == usb.id }?.bytesTotal == 1000, "the snapshot's size, from its first copy")
            #expect(try await store.snapshot(accountID: account, runID: dump.id)?.copies.map(\.destinationID) == [fleet.nas.id])
            let atUSB = try await store.snapshots(accountID: account, filter: SnapshotFilter(destinationID: usb.id), after: nil, limit: 10)
            #expect(atUSB.items.map(\.id) == [copied.id])

            // Copying again replaces the copy's restic ids; a destination that is not the job's records nothing.
            let again = copyRun(to: usb.id, [CopiedSnapshot(runID: backup.id, resticSnapshotIDs: ["c0py0004"])])
            _ = try await store.ingest(IngestConformanceTests.event(.finished, again), accountID: account, serverID: web, now: StoreSeed.at(96))
            let elsewhere = copyRun(to: spare.id, [CopiedSnapshot(runID: backup.id, resticSnapshotIDs: ["c0py0005"])])
            _ = try await store.ingest(IngestConformanceTests.event(.finished, elsewhere), accountID: account, serverID: web, now: StoreSeed.at(97))
            let after = try #require(try await store.snapshot(accountID: account, runID: backup.id))
            #expect(after.copies.filter { $0.destinationID == usb.id }.map(\.resticSnapshotIDs) == [["c0py0004"]])
            #expect(!after.copies.contains { $0.destinationID == spare.id })
        }
    }
}
