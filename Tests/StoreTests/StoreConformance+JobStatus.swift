import BackupCore
import Foundation
import Store
import Testing

@Suite("Store conformance: job status")
struct JobStatusConformanceTests {
    @Test(arguments: StoreKind.tested)
    func theJobRowFollowsItsNewestRun(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let seed = StoreSeed(store: store)
            let account = try await seed.account("status")
            let server = try await seed.server(account, "web1")
            let nas = try await seed.destination(account, "nas")
            let job = try await seed.job(account, server, "site", destinations: [nas])
            let other = try await seed.job(account, server, "db", destinations: [nas])
            #expect(try await store.jobStatuses(accountID: account.id, jobIDs: [job.id]).first?.latestRun == nil, "no run yet")
            // A page of servers reads its own servers' jobs only, never another account's.
            let lone = try await seed.server(account, "web2")
            let loneJob = try await seed.job(account, lone, "lone", destinations: [nas])
            #expect(Set(try await store.jobStatuses(accountID: account.id, serverIDs: [server.id]).map(\.id)) == [job.id, other.id])
            #expect(try await store.jobStatuses(accountID: account.id, serverIDs: [lone.id]).map(\.id) == [loneJob.id])
            #expect(try await store.jobStatuses(accountID: account.id, serverIDs: []).isEmpty)
            #expect(try await store.jobStatuses(accountID: "acct_other", serverIDs: [server.id]).isEmpty)

            var newer = Run(
                id: ResourceID.make(.run), accountID: account.id, serverID: server.id, jobID: job.id, trigger: .timer,
                slot: StoreSeed.at(7200), status: .running, createdAt: StoreSeed.at(7200))
            try await store.insertRun(newer)
            // An older run recorded later (an agent delivering its backlog) does not take its place.
            let older = Run(
                id: ResourceID.make(.run), accountID: account.id, serverID: server.id, jobID: job.id, trigger: .timer,
                slot: StoreSeed.at(3600), status: .failed, createdAt: StoreSeed.at(3600), finishedAt: StoreSeed.at(3700))
            try await store.insertRun(older)
            var status = try #require(try await store.jobStatuses(accountID: account.id, jobIDs: [job.id]).first)
            #expect(status.latestRun == RunBrief(newer))
            #expect(try await store.unfinishedRunCounts(accountID: account.id) == [.running: 1], "metrics count, not list, the unfinished runs")

            newer.status = .succeeded
            newer.finishedAt = StoreSeed.at(7300)
            try await store.updateRun(newer)
            status = try #require(try await store.jobStatuses(accountID: account.id, jobIDs: nil).first { $0.id == job.id })
            #expect(status.latestRun?.status == .succeeded)
            #expect(status.latestRun?.finishedAt == StoreSeed.at(7300))
            #expect(status.name == "site" && status.serverID == server.id && status.schedule == job.schedule && status.kind == job.kind)
            #expect(try await store.jobStatuses(accountID: account.id, jobIDs: [other.id]).first?.latestRun == nil, "other jobs keep their own")
            #expect(try await store.lastRuns(accountID: account.id, jobIDs: [job.id, other.id]).mapValues(\.id) == [job.id: newer.id])
            #expect(try await store.jobStatuses(accountID: ResourceID.make(.account), jobIDs: nil).isEmpty, "another account sees nothing")
        }
    }

    @Test(arguments: StoreKind.tested)
    func jobSettingsRoundTrip(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let seed = StoreSeed(store: store)
            let account = try await seed.account("settings")
            let server = try await seed.server(account, "web1")
            let nas = try await seed.destination(account, "nas")
            var job = try await seed.job(account, server, "site", destinations: [nas])
            job.staleAfter = 93_600
            job.pingURL = "https://hc-ping.example/abc"
            try await store.updateJob(job)
            #expect(try await store.job(accountID: account.id, id: job.id) == job)
            #expect(try await store.jobStatuses(accountID: account.id, jobIDs: [job.id]).first?.staleAfter == 93_600)
            var check = Job(
                id: ResourceID.make(.job), accountID: account.id, serverID: server.id, name: "verify", kind: .check, sources: JobSources(),
                schedule: job.schedule, retention: job.retention, destinationIDs: [nas.id], enabled: true,
                createdAt: StoreSeed.at(0), updatedAt: StoreSeed.at(0), checkSubsets: 7)
            try await store.createJob(check)
            #expect(try await store.job(accountID: account.id, id: check.id) == check)
            check.checkSubsets = 3
            try await store.updateJob(check)
            #expect(try await store.job(accountID: account.id, id: check.id)?.checkSubsets == 3)
        }
    }
}
