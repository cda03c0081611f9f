import BackupCore
import Foundation
import Testing

/// Job health from the schedule, the newest run and the server's link.
@Suite struct JobHealthTests {
    /// 2026-11-27 10:00 UTC.
    let now = Date(timeIntervalSince1970: 1_795_773_600)

    func job(created hoursAgo: Double, enabled: Bool = true) throws -> Job {
        let created = now.addingTimeInterval(-hoursAgo * 3600)
        return Job(
            id: "job_1", accountID: "acc_1", serverID: "srv_1", name: "site", kind: .full, sources: JobSources(paths: ["/srv"]),
            schedule: try Schedule.parse("daily 02:30", timeZone: "UTC"), retention: RetentionPolicy(keepDaily: 7),
            destinationIDs: ["dst_1"], enabled: enabled, createdAt: created, updatedAt: created)
    }

    func run(_ status: RunStatus, slotHoursAgo: Double?, startedHoursAgo: Double) -> Run {
        Run(
            id: "run_1", accountID: "acc_1", serverID: "srv_1", jobID: "job_1", trigger: slotHoursAgo == nil ? .manual : .timer,
            slot: slotHoursAgo.map { now.addingTimeInterval(-$0 * 3600) }, status: status, createdAt: now.addingTimeInterval(-startedHoursAgo * 3600))
    }

    @Test func aDisabledJobIsDisabled() throws {
        #expect(JobHealth.evaluate(job: try job(created: 100, enabled: false), lastRun: nil, serverOnline: true, now: now) == .disabled)
    }

    @Test func aNewJobWithNoSlotDueYetHasNeverRun() throws {
        #expect(JobHealth.evaluate(job: try job(created: 1), lastRun: nil, serverOnline: true, now: now) == .neverRun)
        #expect(JobHealth.evaluate(job: try job(created: 1), lastRun: nil, serverOnline: false, now: now) == .offline)
    }

    @Test func aSlotThatPassedWithoutARunIsMissed() throws {
        // Created yesterday 09:00; today's 02:30 slot passed with no run.
        #expect(JobHealth.evaluate(job: try job(created: 25), lastRun: nil, serverOnline: true, now: now) == .missed)
        #expect(JobHealth.evaluate(job: try job(created: 25), lastRun: nil, serverOnline: false, now: now) == .offline)
        // The newest run was yesterday's slot: today's is missed.
        let yesterday = run(.succeeded, slotHoursAgo: 31.5, startedHoursAgo: 31.5)
        #expect(JobHealth.evaluate(job: try job(created: 100), lastRun: yesterday, serverOnline: true, now: now) == .missed)
    }

    @Test func theGracePeriodKeepsAJustDueSlotFromCountingAsMissed() throws {
        let at0250 = Date(timeIntervalSince1970: 1_795_747_800)  // 02:50, 20 min after the slot
        let at0240 = Date(timeIntervalSince1970: 1_795_747_200)  // 02:40, 10 min after the slot
        let yesterday = Run(
            id: "r", accountID: "acc_1", serverID: "srv_1", jobID: "job_1", trigger: .timer,
            slot: at0240.addingTimeInterval(-86_400 - 600), status: .succeeded, createdAt: at0240.addingTimeInterval(-86_400 - 600))
        let job = try job(created: 100)
        #expect(JobHealth.evaluate(job: job, lastRun: yesterday, serverOnline: true, now: at0240) == .ok)
        #expect(JobHealth.evaluate(job: job, lastRun: yesterday, serverOnline: true, now: at0250) == .missed)
    }

    @Test func theNewestRunDecidesOnceTheSlotsAreCovered() throws {
        let job = try job(created: 100)
        #expect(JobHealth.evaluate(job: job, lastRun: run(.succeeded, slotHoursAgo: 7.5, startedHoursAgo: 7.5), serverOnline: true, now: now) == .ok)
        #expect(
            JobHealth.evaluate(job: job, lastRun: run(.succeeded, slotHoursAgo: 7.5, startedHoursAgo: 7.5), serverOnline: false, now: now) == .offline
        )
        #expect(
            JobHealth.evaluate(job: job, lastRun: run(.failed, slotHoursAgo: 7.5, startedHoursAgo: 7.5), serverOnline: true, now: now) == .failing)
        #expect(
            JobHealth.evaluate(job: job, lastRun: run(.partial, slotHoursAgo: 7.5, startedHoursAgo: 7.5), serverOnline: true, now: now) == .partial)
        // A run-now after the slot covers it too.
        #expect(JobHealth.evaluate(job: job, lastRun: run(.succeeded, slotHoursAgo: nil, startedHoursAgo: 1), serverOnline: true, now: now) == .ok)
    }

    @Test func noSnapshotNewerThanTheThresholdIsStale() throws {
        var job = try job(created: 100)
        job.staleAfter = 26 * 3600
        let fine = run(.succeeded, slotHoursAgo: 7.5, startedHoursAgo: 7.5)
        // Runs succeed but the newest snapshot is two days old (e.g. every copy was pruned or refused).
        #expect(
            JobHealth.evaluate(job: job, lastRun: fine, newestSnapshotAt: now.addingTimeInterval(-48 * 3600), serverOnline: true, now: now) == .stale)
        #expect(JobHealth.evaluate(job: job, lastRun: fine, newestSnapshotAt: now.addingTimeInterval(-7 * 3600), serverOnline: true, now: now) == .ok)
        // Failing says more than stale; offline says why nothing is new.
        let failed = run(.failed, slotHoursAgo: 7.5, startedHoursAgo: 7.5)
        #expect(JobHealth.evaluate(job: job, lastRun: failed, newestSnapshotAt: nil, serverOnline: true, now: now) == .failing)
        #expect(JobHealth.evaluate(job: job, lastRun: fine, newestSnapshotAt: nil, serverOnline: false, now: now) == .offline)
        // No threshold, no stale.
        job.staleAfter = nil
        #expect(JobHealth.evaluate(job: job, lastRun: fine, newestSnapshotAt: nil, serverOnline: true, now: now) == .ok)
    }

    @Test func staleThresholdsOutsideOneHourToOneYearAreRefused() throws {
        #expect(try Job.validatedStaleAfter(0) == nil)
        #expect(try Job.validatedStaleAfter(nil) == nil)
        #expect(try Job.validatedStaleAfter(93_600) == 93_600)
        #expect(throws: DomainError.self) { try Job.validatedStaleAfter(59) }
        #expect(throws: DomainError.self) { try Job.validatedStaleAfter(-3600) }
        #expect(throws: DomainError.self) { try Job.validatedStaleAfter(40_000_000) }
    }
    /// A job with scheduled drills: `unproven` when its newest drill failed or none passed within
    /// twice the period; jobs without a drill setting never are.
    @Test func aJobWithDrillsIsUnprovenWithoutARecentPassingDrill() throws {
        var job = try self.job(created: 24 * 30)
        let backup = self.run(.succeeded, slotHoursAgo: 7.5, startedHoursAgo: 7.5)
        func health(_ drill: RunBrief?, provenHoursAgo: Double?, drillSinceHoursAgo: Double? = nil) -> JobHealth {
            var status = JobStatus(job, latestRun: RunBrief(backup), newestSnapshotAt: nil)
            status.drillSince = drillSinceHoursAgo.map { now.addingTimeInterval(-$0 * 3600) }
            status.lastDrill = drill
            status.provenAt = provenHoursAgo.map { now.addingTimeInterval(-$0 * 3600) }
            return JobHealth.evaluate(status, serverOnline: true, now: now)
        }
        func drill(_ status: RunStatus, hoursAgo: Double) -> RunBrief {
            RunBrief(
                id: "run_d", status: status, slot: nil, createdAt: now.addingTimeInterval(-hoursAgo * 3600),
                finishedAt: now.addingTimeInterval(-hoursAgo * 3600 + 60))
        }
        #expect(health(nil, provenHoursAgo: nil) == .ok, "no drill setting: health as before")
        job.drill = JobDrill(frequency: .weekly)
        #expect(health(nil, provenHoursAgo: nil) == .unproven, "an old job with drills and none passed")
        #expect(health(nil, provenHoursAgo: nil, drillSinceHoursAgo: 1) == .ok, "drills turned on an hour ago: one period for the first")
        #expect(health(nil, provenHoursAgo: nil, drillSinceHoursAgo: 8 * 24) == .unproven)
        #expect(health(drill(.succeeded, hoursAgo: 24), provenHoursAgo: 24) == .ok)
        #expect(health(drill(.failed, hoursAgo: 2), provenHoursAgo: 24) == .unproven, "the newest drill failed")
        #expect(health(drill(.running, hoursAgo: 0.1), provenHoursAgo: 24) == .ok, "a drill under way changes nothing")
        #expect(health(drill(.succeeded, hoursAgo: 15 * 24), provenHoursAgo: 15 * 24) == .unproven, "older than twice a week")
        #expect(health(drill(.succeeded, hoursAgo: 13 * 24), provenHoursAgo: 13 * 24) == .ok)
        // A new job gets one period for its first drill.
        job = try self.job(created: 48)
        job.drill = JobDrill(frequency: .weekly)
        #expect(health(nil, provenHoursAgo: nil) != .unproven)
    }
}

/// A server's health: its link first, then the worst of its jobs.
@Suite struct ServerHealthTests {
    @Test func theWorstProblemOfItsJobsOrItsLinkIsTheServersHealth() {
        #expect(ServerHealth.evaluate(enrolled: false, online: false, jobs: [.ok]) == .notEnrolled)
        #expect(ServerHealth.evaluate(enrolled: true, online: false, jobs: [.ok]) == .offline)
        #expect(ServerHealth.evaluate(enrolled: true, online: true, jobs: []) == .noJobs)
        #expect(ServerHealth.evaluate(enrolled: true, online: true, jobs: [.disabled]) == .noJobs)
        #expect(ServerHealth.evaluate(enrolled: true, online: true, jobs: [.ok, .stale, .missed, .partial]) == .missed)
        #expect(ServerHealth.evaluate(enrolled: true, online: true, jobs: [.ok, .failing, .missed]) == .failing)
        #expect(ServerHealth.evaluate(enrolled: true, online: true, jobs: [.ok, .stale]) == .stale)
        #expect(ServerHealth.evaluate(enrolled: true, online: true, jobs: [.neverRun, .ok]) == .ok)
        #expect(ServerHealth.evaluate(enrolled: true, online: true, jobs: [.neverRun]) == .neverRun)
    }

}
