import BackupCore
import Foundation
import Store
import Testing

/// Every method that takes an account id confines itself to that account: account B, asking with
/// its own id and account A's ids and names, finds nothing of A and changes nothing of A.
@Suite("Store conformance: account isolation")
struct StoreIsolationTests {
    struct Tenant {
        let account: Account
        let server: Server
        let destination: Destination
        let job: Job
        let run: Run
        let snapshot: Snapshot
        let token: APIToken
        let enrollment: EnrollmentToken
        let envelope: SealedEnvelope

        static func make(_ seed: StoreSeed, label: String) async throws -> Tenant {
            let account = try await seed.account(label)
            let server = try await seed.server(account, "\(label)-web")
            let destination = try await seed.destination(account, "\(label)-nas")
            let job = try await seed.job(account, server, "\(label)-site", destinations: [destination])
            let run = try await seed.run(job, createdAt: StoreSeed.at(100), slot: StoreSeed.at(100))
            let snapshot = try await seed.snapshot(run)
            let token = APIToken(
                id: ResourceID.make(.apiToken), accountID: account.id, name: "\(label) token", prefix: "mzp_\(label)", scope: .read,
                createdAt: seed.now)
            try await seed.store.createAPIToken(token, hash: "hash-\(label)")
            let enrollment = EnrollmentToken(
                id: ResourceID.make(.enrollmentToken), accountID: account.id, serverID: server.id, createdAt: seed.now, expiresAt: StoreSeed.at(3600))
            try await seed.store.createEnrollmentToken(enrollment, hash: "enroll-\(label)")
            let envelope = SealedEnvelope(
                accountID: account.id, destinationID: destination.id, serverID: server.id, keyID: "k-\(label)", version: 1,
                ciphertext: Data("secret of \(label)".utf8), createdAt: seed.now)
            try await seed.store.putEnvelope(envelope)
            return Tenant(
                account: account, server: server, destination: destination, job: job, run: run, snapshot: snapshot,
                token: token, enrollment: enrollment, envelope: envelope)
        }
    }

    @Test(arguments: StoreKind.tested)
    func readsWithAnotherAccountFindNothing(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let seed = StoreSeed(store: store)
            let a = try await Tenant.make(seed, label: "alpha")
            let b = try await Tenant.make(seed, label: "bravo")
            let other = b.account.id

            for reference in [a.server.id, a.server.name] {
                #expect(try await store.server(accountID: other, reference: reference) == nil)
            }
            #expect(try await store.servers(accountID: other).map(\.id) == [b.server.id])
            #expect(try await store.enrollmentTokens(accountID: other, serverID: a.server.id).isEmpty)
            for reference in [a.destination.id, a.destination.name] {
                #expect(try await store.destination(accountID: other, reference: reference) == nil)
            }
            #expect(try await store.destinations(accountID: other).map(\.id) == [b.destination.id])
            #expect(try await store.jobsUsing(accountID: other, destinationID: a.destination.id).isEmpty)
            #expect(try await store.envelopes(accountID: other, destinationID: a.destination.id).isEmpty)
            #expect(try await store.envelopes(accountID: other, serverID: a.server.id).isEmpty)
            #expect(try await store.job(accountID: other, id: a.job.id) == nil)
            for reference in [a.job.id, a.job.name] {
                #expect(try await store.jobs(accountID: other, reference: reference, serverID: nil).isEmpty)
                #expect(try await store.jobs(accountID: other, reference: reference, serverID: a.server.id).isEmpty)
            }
            #expect(try await store.jobs(accountID: other, serverID: a.server.id, destinationID: nil).isEmpty)
            #expect(try await store.jobs(accountID: other, serverID: nil, destinationID: a.destination.id).isEmpty)
            #expect(try await store.jobs(accountID: other, serverID: nil, destinationID: nil).map(\.id) == [b.job.id])
            #expect(try await store.run(accountID: other, id: a.run.id) == nil)
            for filter in [
                RunFilter(), RunFilter(serverID: a.server.id), RunFilter(jobID: a.job.id), RunFilter(destinationID: a.destination.id),
                RunFilter(status: .succeeded),
            ] {
                let page = try await store.runs(accountID: other, filter: filter, after: nil, limit: 100)
                #expect(!page.items.contains { $0.accountID == a.account.id }, "\(filter)")
            }
            #expect(try await store.runs(accountID: other, filter: RunFilter(), after: nil, limit: 100).items.map(\.id) == [b.run.id])
            #expect(try await store.snapshot(accountID: other, id: a.snapshot.id) == nil)
            for filter in [
                SnapshotFilter(), SnapshotFilter(serverID: a.server.id), SnapshotFilter(jobID: a.job.id),
                SnapshotFilter(destinationID: a.destination.id),
            ] {
                let page = try await store.snapshots(accountID: other, filter: filter, after: nil, limit: 100)
                #expect(!page.items.contains { $0.accountID == a.account.id }, "\(filter)")
            }
            #expect(try await store.snapshots(accountID: other, filter: SnapshotFilter(), after: nil, limit: 100).items.map(\.id) == [b.snapshot.id])
            #expect(try await store.apiTokens(accountID: other).map(\.id) == [b.token.id])

            var fetched: FleetSummary?
            fetched = try await store.fleetSummary(accountID: other, now: StoreSeed.at(200))
            guard let summary = fetched else { return }
            #expect(summary.servers == 1)
            #expect(summary.destinations == 1)
            #expect(summary.jobs == 1)
            #expect(summary.snapshots == 1)
            #expect(summary.runsLast24h == ["succeeded": 1])
            #expect(summary.protectedBytes == 1000)
        }
    }

    @Test(arguments: StoreKind.tested)
    func deletesWithAnotherAccountChangeNothing(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let seed = StoreSeed(store: store)
            let a = try await Tenant.make(seed, label: "alpha")
            let b = try await Tenant.make(seed, label: "bravo")
            let other = b.account.id

            #expect(try await store.revokeAPIToken(accountID: other, id: a.token.id, at: StoreSeed.at(5)) == false)
            #expect(try await store.deleteEnrollmentToken(accountID: other, id: a.enrollment.id) == false)
            #expect(try await store.deleteEnvelope(accountID: other, destinationID: a.destination.id, serverID: a.server.id) == false)
            #expect(try await store.deleteJob(accountID: other, id: a.job.id) == false)
            #expect(try await store.deleteDestination(accountID: other, id: a.destination.id) == false)
            #expect(try await store.deleteServer(accountID: other, id: a.server.id) == nil)

            try await expectUnchanged(a, in: store)
        }
    }

    /// Updates carry the account id inside the value: an update stamped with B's account id and
    /// A's resource id must not touch A's resource.
    @Test(arguments: StoreKind.tested)
    func updatesStampedWithAnotherAccountChangeNothing(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let seed = StoreSeed(store: store)
            let a = try await Tenant.make(seed, label: "alpha")
            let b = try await Tenant.make(seed, label: "bravo")

            var server = a.server
            server.accountID = b.account.id
            server.name = "hijacked"
            try? await store.updateServer(server)

            var destination = a.destination
            destination.accountID = b.account.id
            destination.name = "hijacked"
            destination.settings = DestinationSettings(path: "/tmp/hijacked")
            try? await store.updateDestination(destination)

            var job = a.job
            job.accountID = b.account.id
            job.name = "hijacked"
            job.destinationIDs = [b.destination.id]
            try? await store.updateJob(job)

            var run = a.run
            run.accountID = b.account.id
            run.status = .failed
            run.results = [DestinationResult(destinationID: b.destination.id, status: .failed)]
            try? await store.updateRun(run)

            var envelope = a.envelope
            envelope.accountID = b.account.id
            envelope.ciphertext = Data("replaced by bravo".utf8)
            try? await store.putEnvelope(envelope)

            #expect(try await store.server(accountID: a.account.id, reference: a.server.id) == a.server)
            #expect(try await store.destination(accountID: a.account.id, reference: a.destination.id) == a.destination)
            #expect(try await store.job(accountID: a.account.id, id: a.job.id)?.name == a.job.name)
            #expect(try await store.run(accountID: a.account.id, id: a.run.id) == a.run)

            // Writes that name another account's parent must not touch its child rows either.
            let jobDestinations = try await store.job(accountID: a.account.id, id: a.job.id)?.destinationIDs
            let runsViaDestination = try await store.runs(
                accountID: a.account.id, filter: RunFilter(destinationID: a.destination.id), after: nil, limit: 10
            ).items.map(\.id)
            let envelopes = try await store.envelopes(accountID: a.account.id, destinationID: a.destination.id)
            #expect(jobDestinations == a.job.destinationIDs)
            #expect(runsViaDestination == [a.run.id])
            #expect(envelopes == [a.envelope])
        }
    }

    func expectUnchanged(_ a: Tenant, in store: SQLHubStore, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let id = a.account.id
        #expect(try await store.apiToken(hash: "hash-alpha") == a.token, sourceLocation: sourceLocation)
        #expect(try await store.enrollmentTokens(accountID: id, serverID: a.server.id) == [a.enrollment], sourceLocation: sourceLocation)
        #expect(try await store.envelopes(accountID: id, destinationID: a.destination.id) == [a.envelope], sourceLocation: sourceLocation)
        expectSameJob(try await store.job(accountID: id, id: a.job.id), a.job, sourceLocation: sourceLocation)
        #expect(try await store.destination(accountID: id, reference: a.destination.id) == a.destination, sourceLocation: sourceLocation)
        #expect(try await store.server(accountID: id, reference: a.server.id) == a.server, sourceLocation: sourceLocation)
        #expect(try await store.run(accountID: id, id: a.run.id) == a.run, sourceLocation: sourceLocation)
        #expect(try await store.snapshot(accountID: id, id: a.snapshot.id) == a.snapshot, sourceLocation: sourceLocation)
    }
}
