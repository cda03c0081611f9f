import BackupCore
import Foundation
import Testing

@testable import Agent

@Suite("Slot claims")
struct SlotClaimTests {
    @Test("of many concurrent claims of one slot exactly one wins; another slot is free")
    func concurrent() async throws {
        try await withTemporaryDirectory { root in
            let claims = SlotClaims(directory: root + "/slots")
            let slot = Date(timeIntervalSince1970: 1_767_225_600)
            let wins = await withTaskGroup(of: Bool.self) { group in
                for _ in 0..<32 {
                    group.addTask { (try? claims.claim(jobID: "job_abc", slot: slot)) ?? false }
                }
                var count = 0
                for await won in group where won { count += 1 }
                return count
            }
            #expect(wins == 1)
            #expect(claims.isClaimed(jobID: "job_abc", slot: slot))
            let nextSlot = try claims.claim(jobID: "job_abc", slot: slot.addingTimeInterval(3600))
            let otherJob = try claims.claim(jobID: "job_other", slot: slot)
            #expect(nextSlot && otherJob)
        }
    }

    @Test("claims of slots older than 30 days, claimed more than 30 days ago, are pruned; others kept")
    func prune() async throws {
        try await withTemporaryDirectory { root in
            let claims = SlotClaims(directory: root + "/slots")
            let now = Date()
            let old = now.addingTimeInterval(-31 * 86400)
            let oldClaimedLate = now.addingTimeInterval(-32 * 86400)
            let recent = now.addingTimeInterval(-29 * 86400)
            let claimedOld = try claims.claim(jobID: "job_a", slot: old)
            let claimedLate = try claims.claim(jobID: "job_a", slot: oldClaimedLate)
            let claimedRecent = try claims.claim(jobID: "job_a", slot: recent)
            #expect(claimedOld && claimedLate && claimedRecent)
            try FileManager.default.setAttributes([.modificationDate: old], ofItemAtPath: claims.path(jobID: "job_a", slot: old))
            claims.prune(now: now)
            #expect(!claims.isClaimed(jobID: "job_a", slot: old))
            #expect(claims.isClaimed(jobID: "job_a", slot: oldClaimedLate), "claimed today: kept")
            #expect(claims.isClaimed(jobID: "job_a", slot: recent))
        }
    }

    @Test("a job id that is not a plain name is refused")
    func unsafeJobID() async throws {
        try await withTemporaryDirectory { root in
            let claims = SlotClaims(directory: root + "/slots")
            #expect(throws: AgentError.self) { try claims.claim(jobID: "../x", slot: Date()) }
        }
    }
}

@Suite("Current slot")
struct CurrentSlotTests {
    static func date(_ text: String) -> Date { ISO8601DateFormatter().date(from: text)! }

    @Test(
        "a timer firing late (RandomizedDelaySec) maps to the slot it was due for",
        arguments: [
            ("2026-03-10T02:30:00Z", "2026-03-10T02:30:00Z"),
            ("2026-03-10T02:30:59Z", "2026-03-10T02:30:00Z"),
            ("2026-03-10T14:00:00Z", "2026-03-10T02:30:00Z"),
            ("2026-03-10T02:29:59Z", "2026-03-09T02:30:00Z"),
        ])
    func daily(now: String, slot: String) throws {
        let schedule = try Schedule.parse("daily 02:30")
        #expect(SlotClaims.currentSlot(for: schedule, now: Self.date(now)) == Self.date(slot))
    }

    @Test("frequent, weekly and zoned schedules")
    func others() throws {
        let quarter = try Schedule.parse("*:0/15")
        #expect(SlotClaims.currentSlot(for: quarter, now: Self.date("2026-03-10T10:31:20Z")) == Self.date("2026-03-10T10:30:00Z"))
        let weekly = try Schedule.parse("weekly sun 03:00")
        // Tuesday: the slot is the Sunday before (found after widening the window).
        #expect(SlotClaims.currentSlot(for: weekly, now: Self.date("2026-03-10T12:00:00Z")) == Self.date("2026-03-08T03:00:00Z"))
        let berlin = try Schedule.parse("daily 02:30", timeZone: "Europe/Berlin")
        #expect(SlotClaims.currentSlot(for: berlin, now: Self.date("2026-03-10T01:45:00Z")) == Self.date("2026-03-10T01:30:00Z"))
    }

    @Test("a schedule that has not elapsed yet has no current slot")
    func none() throws {
        let future = try Schedule.parse("2099-01-01 00:00:00")
        #expect(SlotClaims.currentSlot(for: future, now: Self.date("2026-03-10T12:00:00Z")) == nil)
    }
}
