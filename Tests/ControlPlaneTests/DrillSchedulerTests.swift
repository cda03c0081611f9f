import BackupCore
import Foundation
import HTTPTypes
import HummingbirdTesting
import LinkProtocol
import Mustache
import Store
import Testing

@testable import ControlPlane

/// Scheduled restore drills on a clock the test moves: a job with a drill setting gets one drill
/// per period (a restore order to its server), and its health and "last proven restorable" follow
/// the drills' outcomes.
@Suite("drill scheduler tick")
struct DrillSchedulerTests {
    @Test func aJobWithDrillsIsDrilledOncePerPeriodAndItsHealthFollowsTheOutcome() async throws {
        try await withTestHub { hub, client in
            let account = try await hub.account("drills@example.com", plan: .plus)
            let world = try await AccountWorld.build(hub, client, account: account, prefix: "drill")
            let scheduler = DrillScheduler(hub: hub.services, logger: TestHub.logger)
            #expect(try await scheduler.tick() == 0, "no job has a drill setting")

            let set = try await client.call(
                .patch, "/api/v1/jobs/\(world.jobID)", token: account.token, body: #"{"drill":"daily","drillSample":"5%"}"#)
            #expect(set.status == .ok, "\(set)")
            #expect(set.json["drill"]["frequency"].string == "daily")
            #expect(set.json["health"].string == "ok", "a new drill setting gets one period for its first drill")

            func drillOrders() async throws -> [AgentCommand] {
                try await hub.store.pendingCommands(serverID: world.serverID).filter { $0.kind == .restore && $0.restore?.plan?.drill != nil }
            }
            func finish(_ runID: String, _ status: RunStatus) async throws {
                var run = try #require(try await hub.store.run(accountID: account.id, id: runID))
                run.status = status
                run.results = [
                    DestinationResult(
                        destinationID: world.destinationID, status: status == .succeeded ? .succeeded : .failed,
                        error: status == .succeeded ? nil : "drill failed: file /var/www/a.html",
                        drill: DrillEvidence(
                            snapshotFiles: 40, snapshotBytes: 600_000_000, restoredFiles: 2, restoredBytes: 10_000_000, restoreSeconds: 2,
                            checks: [
                                DrillCheck(name: "file /var/www/a.html", passed: status == .succeeded, detail: "restic could not restore it"),
                                DrillCheck(name: "files", passed: status == .succeeded),
                            ]))
                ]
                run.startedAt = hub.clock.now()
                run.finishedAt = hub.clock.now().addingTimeInterval(5)
                let decision = try await hub.store.ingest(
                    RunEvent(id: ResourceID.make(.event), kind: .finished, run: run), accountID: account.id, serverID: world.serverID,
                    now: hub.clock.now())
                #expect(decision != nil)
            }

            #expect(try await scheduler.tick() == 1)
            let first = try #require(try await drillOrders().first)
            let plan = try #require(first.restore?.plan)
            #expect(plan.drill?.sample == DrillSample(percent: 5))
            #expect(plan.snapshotID == world.snapshotID)
            #expect(plan.target == nil && !plan.overwrite)
            #expect(first.restore?.run.trigger == .drill)
            #expect(try await scheduler.tick() == 0, "the period's drill is under way")

            // A failed drill: the job is unproven, and the backup health stays what it was.
            try await finish(try #require(first.runID), .failed)
            var job = try await client.call(.get, "/api/v1/jobs/\(world.jobID)", token: account.token)
            #expect(job.json["health"].string == "unproven", "\(job)")
            #expect(job.json["lastDrill"]["status"].string == "failed")
            #expect(job.json["lastRun"]["id"].string != first.runID, "a drill is never the job's newest backup run")
            #expect(job.json["provenAt"].isNull)
            #expect(try await scheduler.tick() == 0, "one drill per period, failed or not")

            // The next period: a new drill, which passes.
            hub.clock.advance(by: 86_400 + 60)
            #expect(try await scheduler.tick() == 1)
            let second = try #require(try await drillOrders().first { $0.runID != first.runID })
            try await finish(try #require(second.runID), .succeeded)
            job = try await client.call(.get, "/api/v1/jobs/\(world.jobID)", token: account.token)
            #expect(job.json["lastDrill"]["status"].string == "succeeded")
            #expect(job.json["provenAt"].string != nil, "\(job)")
            #expect(job.json["health"].string != "unproven", "\(job)")

            // The job page says when the job was last proven restorable and offers a drill; the run page lists the checks.
            let pages = WebPages(hub: hub.services, assets: try WebAssets.load())
            let caller = PageCaller(account: try #require(try await hub.store.account(id: account.id)), csrf: "test")
            let stored = try #require(try await hub.store.job(accountID: account.id, id: world.jobID))
            let page = try await JobPages(pages: pages).detail(stored, caller: caller, notice: nil)
            #expect(page.canDrill)
            #expect(page.proven != nil)
            #expect(page.lastDrill?.hasPrefix("passed — 2 of 40 files") == true, "\(page.lastDrill ?? "")")
            #expect(page.lastDrill?.contains("restores in ~2 min") == true, "\(page.lastDrill ?? "")")
            #expect(page.drillSetting == "daily, sample 5%")
            let html = pages.assets.library.render(page, withTemplate: "job") ?? ""
            #expect(html.contains("Last proven restorable") && html.contains("Run a drill"))
            let firstRunID = try #require(first.runID)
            let failedRun = try #require(try await hub.store.run(accountID: account.id, id: firstRunID))
            let runPage = try await RunPages(pages: pages).detail(failedRun, caller)
            #expect(runPage.drill?.checks.first?.passed == false)
            let runHTML = pages.assets.library.render(runPage, withTemplate: "run") ?? ""
            #expect(runHTML.contains("file /var/www/a.html") && runHTML.contains("Restore drill"))

            // Turned off: no more drills, and no unproven health.
            let off = try await client.call(.patch, "/api/v1/jobs/\(world.jobID)", token: account.token, body: #"{"drill":"off"}"#)
            #expect(off.json["drill"].isNull, "\(off)")
            hub.clock.advance(by: 86_400 + 60)
            #expect(try await scheduler.tick() == 0)
        }
    }

    @Test func theJobFormCarriesTheDrillSetting() throws {
        var values = JobForm.Values()
        #expect(JobForm.drill(values).frequency == "off" && JobForm.drill(values).sample == nil)
        values.drill = "weekly"
        values.drillSample = " 2% "
        #expect(JobForm.drill(values).frequency == "weekly" && JobForm.drill(values).sample == "2%")
        values.drill = "off"
        #expect(JobForm.drill(values).sample == nil, "a sample without drills is not sent (it would be refused)")
        let job = Job(
            id: "job_1", accountID: "acc_1", serverID: "srv_1", name: "site", kind: .full, sources: JobSources(paths: ["/srv"]),
            schedule: try Schedule.parse("daily", timeZone: "UTC"), retention: RetentionPolicy(keepDaily: 7), destinationIDs: ["dst_1"],
            enabled: true, createdAt: Date(), updatedAt: Date(), drill: JobDrill(frequency: .daily, sample: DrillSample(percent: 2)))
        let shown = JobForm.values(of: job)
        #expect(shown.drill == "daily" && shown.drillSample == "2%")
    }
}
