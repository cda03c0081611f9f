import BackupCore
import Foundation
import Testing

/// The run lifecycle's decisions, without a database: ownership, restores, order, repetition.
@Suite("run lifecycle")
struct RunLifecycleTests {
    static let t0 = Date(millisecondsSince1970: 1_767_225_600_000)

    static func event(_ kind: RunEventKind, status: RunStatus, trigger: RunTrigger = .timer, job: String = "job_a", slot: Date? = nil) -> RunEvent {
        RunEvent(
            id: "evt_1", kind: kind,
            run: Run(
                id: "run_1", accountID: "acc", serverID: "srv_a", jobID: job, trigger: trigger, slot: slot,
                status: status, createdAt: t0))
    }

    static func recorded(_ status: RunStatus, server: String = "srv_a", trigger: RunTrigger = .manual, job: String = "job_a") -> RecordedRun {
        RecordedRun(serverID: server, jobID: job, trigger: trigger, status: status, createdAt: t0)
    }

    @Test func statusesMoveForwardOnly() {
        #expect(RunLifecycle.canMove(from: .queued, to: .running))
        #expect(RunLifecycle.canMove(from: .queued, to: .failed))
        #expect(RunLifecycle.canMove(from: .running, to: .running))
        #expect(RunLifecycle.canMove(from: .running, to: .interrupted))
        #expect(!RunLifecycle.canMove(from: .running, to: .queued))
        for finished in RunStatus.allCases where finished.isFinished {
            for next in RunStatus.allCases { #expect(!RunLifecycle.canMove(from: finished, to: next)) }
        }
    }

    @Test func aQueuedRunStartsThenFinishesWithItsRecordedJobAndTrigger() {
        let started = RunLifecycle.decide(
            Self.event(.started, status: .running), sender: "srv_a", recorded: Self.recorded(.queued),
            jobOwner: "srv_a", slotTaken: false)
        #expect(started == .write(RunWrite(inserts: false, finishes: false, jobID: "job_a", trigger: .manual, recordsSnapshot: false)))
        let finished = RunLifecycle.decide(
            Self.event(.finished, status: .partial), sender: "srv_a", recorded: Self.recorded(.running),
            jobOwner: "srv_a", slotTaken: false)
        #expect(finished == .write(RunWrite(inserts: false, finishes: true, jobID: "job_a", trigger: .manual, recordsSnapshot: true)))
    }

    @Test func unknownRunsAreRecordedFromTheirFirstEventUnlessTheSlotIsTaken() {
        #expect(
            RunLifecycle.decide(Self.event(.finished, status: .succeeded), sender: "srv_a", recorded: nil, jobOwner: "srv_a", slotTaken: false)
                == .write(RunWrite(inserts: true, finishes: true, jobID: "job_a", trigger: .timer, recordsSnapshot: true)))
        #expect(
            RunLifecycle.decide(
                Self.event(.started, status: .running, slot: Self.t0), sender: "srv_a", recorded: nil, jobOwner: "srv_a",
                slotTaken: true) == .ignore(.slotTaken))
        #expect(
            RunLifecycle.decide(Self.event(.progress, status: .running), sender: "srv_a", recorded: nil, jobOwner: "srv_a", slotTaken: false)
                == .ignore(.unknownRun))
    }

    @Test func lateAndRepeatedEventsChangeNothing() {
        for status in RunStatus.allCases where status.isFinished {
            #expect(
                RunLifecycle.decide(
                    Self.event(.progress, status: .running), sender: "srv_a", recorded: Self.recorded(status), jobOwner: "srv_a",
                    slotTaken: false) == .ignore(.alreadyFinished))
            #expect(
                RunLifecycle.decide(
                    Self.event(.started, status: .running), sender: "srv_a", recorded: Self.recorded(status), jobOwner: "srv_a",
                    slotTaken: false) == .ignore(.alreadyFinished))
            #expect(
                RunLifecycle.decide(
                    Self.event(.finished, status: .succeeded), sender: "srv_a", recorded: Self.recorded(status), jobOwner: "srv_a",
                    slotTaken: false) == .ignore(.alreadyFinished))
        }
        #expect(
            RunLifecycle.decide(
                Self.event(.progress, status: .running), sender: "srv_a", recorded: Self.recorded(.running), jobOwner: "srv_a",
                slotTaken: false) == .progress)
    }

    @Test func eventsMustFitTheirStatus() {
        #expect(
            RunLifecycle.decide(
                Self.event(.finished, status: .running), sender: "srv_a", recorded: Self.recorded(.running), jobOwner: "srv_a",
                slotTaken: false) == .ignore(.statusMismatch))
        #expect(
            RunLifecycle.decide(Self.event(.started, status: .succeeded), sender: "srv_a", recorded: nil, jobOwner: "srv_a", slotTaken: false)
                == .ignore(.statusMismatch))
        #expect(
            RunLifecycle.decide(
                Self.event(.started, status: .queued), sender: "srv_a", recorded: Self.recorded(.running), jobOwner: "srv_a",
                slotTaken: false) == .ignore(.statusMismatch))
    }

    @Test func anotherServersRunsAndJobsAreUntouchable() {
        #expect(
            RunLifecycle.decide(
                Self.event(.finished, status: .failed), sender: "srv_b", recorded: Self.recorded(.running), jobOwner: "srv_a",
                slotTaken: false) == .ignore(.otherServersRun))
        #expect(
            RunLifecycle.decide(Self.event(.finished, status: .failed), sender: "srv_b", recorded: nil, jobOwner: "srv_a", slotTaken: false)
                == .ignore(.otherServersJob))
    }

    @Test func restoresExistOnlyWhenTheHubCreatedThemAndNeverMakeSnapshots() {
        #expect(
            RunLifecycle.decide(
                Self.event(.started, status: .running, trigger: .restore), sender: "srv_b", recorded: nil, jobOwner: "srv_b",
                slotTaken: false) == .ignore(.unknownRestore))
        // A restore onto srv_b of srv_a's job, created by the hub for srv_b.
        let restore = Self.recorded(.running, server: "srv_b", trigger: .restore)
        #expect(
            RunLifecycle.decide(
                Self.event(.finished, status: .succeeded, trigger: .timer, job: "job_other"), sender: "srv_b", recorded: restore,
                jobOwner: "srv_a", slotTaken: false)
                == .write(RunWrite(inserts: false, finishes: true, jobID: "job_a", trigger: .restore, recordsSnapshot: false)))
        #expect(RunLifecycle.jobID(of: Self.event(.finished, status: .succeeded, job: "job_other"), recorded: restore) == "job_a")
    }

    @Test func newRunsNeedAJobTheHubKnows() {
        #expect(
            RunLifecycle.decide(Self.event(.finished, status: .succeeded), sender: "srv_a", recorded: nil, jobOwner: nil, slotTaken: false)
                == .ignore(.unknownJob))
    }

    @Test func storedRunsKeepTheRecordedSlotAndCreationAndOrderedBoundedTimes() {
        let now = Self.t0.addingTimeInterval(3600)
        var claimed = Self.event(.finished, status: .succeeded, slot: Self.t0.addingTimeInterval(7200)).run
        claimed.createdAt = Date(timeIntervalSince1970: 4_102_444_800)
        claimed.startedAt = Self.t0.addingTimeInterval(-60)
        claimed.finishedAt = Date(timeIntervalSince1970: 4_102_444_800)
        let change = RunWrite(inserts: false, finishes: true, jobID: "job_a", trigger: .manual, recordsSnapshot: true)
        let stored = RunLifecycle.stored(claimed, as: change, recorded: Self.recorded(.running), now: now)
        #expect(stored.createdAt == Self.t0 && stored.slot == nil)
        #expect(stored.startedAt == Self.t0)
        #expect(stored.finishedAt == now.addingTimeInterval(RunLifecycle.clockTolerance))
        let inserted = RunLifecycle.stored(claimed, as: change, recorded: nil, now: now)
        #expect(inserted.createdAt == now.addingTimeInterval(RunLifecycle.clockTolerance))
        #expect(RunLifecycle.snapshotTime(Date(timeIntervalSince1970: 0), of: stored, now: now) == stored.startedAt)
        #expect(RunLifecycle.snapshotTime(Date(timeIntervalSince1970: 4_102_444_800), of: stored, now: now) == stored.finishedAt)
    }

    @Test func reportedTimesAreBoundedByTheHubsClock() {
        let now = Self.t0
        #expect(RunLifecycle.bounded(now.addingTimeInterval(-60), now: now) == now.addingTimeInterval(-60))
        #expect(RunLifecycle.bounded(Date(timeIntervalSince1970: 4_102_444_800), now: now) == now.addingTimeInterval(RunLifecycle.clockTolerance))
    }
}
