import BackupCore
import Foundation
import Store
import Testing

@Suite("Store conformance: jobs")
struct JobConformanceTests {
    @Test(arguments: StoreKind.tested)
    func aJobKeepsItsDestinationsInOrder(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let seed = StoreSeed(store: store)
            let account = try await seed.account("jobs")
            let server = try await seed.server(account, "web1")
            // Created in the opposite order of the job's list, so order cannot come from ids or names by accident.
            let zeta = try await seed.destination(account, "zeta")
            let alpha = try await seed.destination(account, "alpha")
            let job = try await seed.job(account, server, "site", destinations: [zeta, alpha])

            let loaded = try #require(try await store.job(accountID: account.id, id: job.id))
            #expect(loaded.destinationIDs == [zeta.id, alpha.id])
            expectSameJob(loaded, job)
            #expect(loaded.sources == job.sources)
            #expect(loaded.retention == job.retention)
            #expect(try await store.job(accountID: account.id, id: ResourceID.make(.job)) == nil)

            let reversed = try await seed.job(account, server, "reversed", destinations: [alpha, zeta])
            #expect(try await store.job(accountID: account.id, id: reversed.id)?.destinationIDs == [alpha.id, zeta.id])
        }
    }

    @Test(arguments: StoreKind.tested)
    func jobsAreFoundByNameAcrossServers(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let seed = StoreSeed(store: store)
            let account = try await seed.account("byname")
            let web = try await seed.server(account, "web1")
            let db = try await seed.server(account, "db1")
            let nas = try await seed.destination(account, "nas")
            let onWeb = try await seed.job(account, web, "nightly", destinations: [nas])
            let onDB = try await seed.job(account, db, "nightly", destinations: [nas])
            let other = try await seed.job(account, web, "weekly", destinations: [nas])

            let both = try await store.jobs(accountID: account.id, reference: "nightly", serverID: nil)
            #expect(Set(both.map(\.id)) == [onWeb.id, onDB.id], "a name shared by two servers returns both")
            #expect(try await store.jobs(accountID: account.id, reference: "nightly", serverID: db.id).map(\.id) == [onDB.id])
            #expect(try await store.jobs(accountID: account.id, reference: onWeb.id, serverID: nil).map(\.id) == [onWeb.id])
            #expect(try await store.jobs(accountID: account.id, reference: onWeb.id, serverID: db.id).isEmpty)
            #expect(try await store.jobs(accountID: account.id, reference: "hourly", serverID: nil).isEmpty)

            await expectDomainError(.conflict, field: "name") {
                try await store.createJob(try seed.makeJob(account, web, "nightly", destinations: [nas]))
            }

            #expect(Set(try await store.jobs(accountID: account.id, serverID: web.id, destinationID: nil).map(\.id)) == [onWeb.id, other.id])
            #expect(try await store.jobs(accountID: account.id, serverID: nil, destinationID: nil).count == 3)
        }
    }

    @Test(arguments: StoreKind.tested)
    func jobsAreListedByDestination(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let seed = StoreSeed(store: store)
            let account = try await seed.account("bydest")
            let web = try await seed.server(account, "web1")
            let db = try await seed.server(account, "db1")
            let nas = try await seed.destination(account, "nas")
            let usb = try await seed.destination(account, "usb")
            let both = try await seed.job(account, web, "both", destinations: [nas, usb])
            let onlyUSB = try await seed.job(account, db, "usb-only", destinations: [usb])

            let viaNAS = try await store.jobs(accountID: account.id, serverID: nil, destinationID: nas.id)
            #expect(viaNAS.map(\.id) == [both.id])
            #expect(viaNAS.first?.destinationIDs == [nas.id, usb.id], "the listing still returns each job's full destination list")
            #expect(Set(try await store.jobs(accountID: account.id, serverID: nil, destinationID: usb.id).map(\.id)) == [both.id, onlyUSB.id])
            #expect(try await store.jobs(accountID: account.id, serverID: db.id, destinationID: usb.id).map(\.id) == [onlyUSB.id])
            #expect(try await store.jobs(accountID: account.id, serverID: db.id, destinationID: nas.id).isEmpty)
        }
    }

    @Test(arguments: StoreKind.tested)
    func updatingAJobReplacesItsFieldsAndDestinations(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let seed = StoreSeed(store: store)
            let account = try await seed.account("update")
            let server = try await seed.server(account, "web1")
            let nas = try await seed.destination(account, "nas")
            let usb = try await seed.destination(account, "usb")
            let s3 = try await seed.destination(
                account, "s3", kind: .s3, settings: DestinationSettings(endpoint: "https://s3.example.com", bucket: "bkt"))
            var job = try await seed.job(account, server, "site", destinations: [nas, usb])
            try await seed.job(account, server, "taken", destinations: [nas])

            job.name = "site-renamed"
            job.kind = .database
            job.sources = JobSources(databases: [DatabaseSource(engine: .mysql, name: "*")])
            job.schedule = try Schedule.parse("*-*-* 02:30:00", timeZone: "Europe/Paris")
            job.retention = RetentionPolicy(keepAll: true)
            job.destinationIDs = [s3.id, nas.id]
            job.enabled = false
            job.updatedAt = StoreSeed.at(500)
            try await store.updateJob(job)

            let loaded = try await store.job(accountID: account.id, id: job.id)
            expectSameJob(loaded, job)
            #expect(loaded?.destinationIDs == [s3.id, nas.id])
            #expect(loaded?.schedule.timeZone == "Europe/Paris")
            #expect(try await store.jobsUsing(accountID: account.id, destinationID: usb.id).isEmpty, "a removed destination is no longer used")
            #expect(try await store.deleteDestination(accountID: account.id, id: usb.id))

            var clash = job
            clash.name = "taken"
            await expectDomainError(.conflict, field: "name") { try await store.updateJob(clash) }
            #expect(try await store.job(accountID: account.id, id: job.id)?.name == "site-renamed")
        }
    }

    @Test(arguments: StoreKind.tested)
    func deletingAJobRemovesItAndFreesItsDestinations(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let seed = StoreSeed(store: store)
            let account = try await seed.account("delete")
            let server = try await seed.server(account, "web1")
            let nas = try await seed.destination(account, "nas")
            let job = try await seed.job(account, server, "site", destinations: [nas])
            let run = try await seed.run(job, createdAt: StoreSeed.at(1))

            #expect(try await store.deleteJob(accountID: account.id, id: job.id))
            #expect(try await store.job(accountID: account.id, id: job.id) == nil)
            #expect(try await store.jobs(accountID: account.id, reference: "site", serverID: nil).isEmpty)
            #expect(try await store.jobsUsing(accountID: account.id, destinationID: nas.id).isEmpty)
            #expect(try await store.deleteJob(accountID: account.id, id: job.id) == false)
            #expect(try await store.run(accountID: account.id, id: run.id) == run, "runs stay listed after their job is deleted")
            // The name is free again on that server.
            try await seed.job(account, server, "site", destinations: [nas])
        }
    }
}
