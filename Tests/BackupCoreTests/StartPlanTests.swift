import BackupCore
import Foundation
import Testing

/// Backup windows and spread: when a scheduled slot's run starts (`StartPlan`), across midnight
/// and DST changes, and the preview's list of starts.
@Suite struct StartPlanTests {
    static func utc(_ text: String) -> Date {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.date(from: text)!
    }
    let berlin = TimeZone(identifier: "Europe/Berlin")!

    @Test func windowsParseAndRefuseWithClearMessages() throws {
        let window = try BackupWindow.parse("01:00-05:00")
        #expect(window.start == 60 && window.end == 300 && window.length == 240 && !window.crossesMidnight)
        #expect(try BackupWindow.parse(" 22:00 - 4:30 ").text == "22:00-04:30")
        #expect(try BackupWindow.parse("22:00-04:30").crossesMidnight)
        #expect(try BackupWindow.parse("22:00-04:30").length == 390)
        for bad in ["", "01:00", "25:00-05:00", "01:00-05:60", "1-5", "01:00-01:00", "01:00-05:00-06:00", "a:bc-05:00"] {
            #expect(throws: DomainError.self, "\(bad)") { try BackupWindow.parse(bad) }
        }
        do {
            _ = try BackupWindow.parse("25:00-05:00")
        } catch {
            #expect(error.field == "window" && error.message.contains("\"25:00\" is not a time of day"))
        }
        #expect(try Job.validatedWindow("off") == nil)
        #expect(try Job.validatedWindow("") == nil)
        // Encoded as its text, decoded back (and a stored bad text is refused).
        let data = try JSONEncoder().encode(window)
        #expect(String(decoding: data, as: UTF8.self) == "\"01:00-05:00\"")
        #expect(try JSONDecoder().decode(BackupWindow.self, from: data) == window)
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(BackupWindow.self, from: Data("\"nope\"".utf8)) }
    }

    @Test func spreadParsesAndItsOffsetIsStableAndInRange() throws {
        #expect(try ScheduleSpread.parse("30m") == 1800)
        #expect(try ScheduleSpread.parse("2h") == 7200)
        #expect(try ScheduleSpread.parse("90s") == 90)
        #expect(try ScheduleSpread.parse("45") == 2700)
        #expect(try ScheduleSpread.parse("off") == nil)
        #expect(try ScheduleSpread.parse("0") == nil)
        for bad in ["13h", "-5m", "x", "30d", "1.5h"] {
            #expect(throws: DomainError.self, "\(bad)") { try ScheduleSpread.parse(bad) }
        }
        #expect(ScheduleSpread.text(1800) == "30m" && ScheduleSpread.text(7200) == "2h" && ScheduleSpread.text(90) == "90s")
        // FNV-1a of the id: the same on every run and machine; different jobs spread out.
        #expect(ScheduleSpread.offset(jobID: "job_abc", seconds: 1800) == ScheduleSpread.offset(jobID: "job_abc", seconds: 1800))
        let offsets = (0..<200).map { ScheduleSpread.offset(jobID: "job_\($0)", seconds: 1800) }
        #expect(offsets.allSatisfy { (0..<1800).contains($0) })
        #expect(Set(offsets).count > 150, "200 jobs get well spread offsets")
        #expect(offsets.contains { $0 < 600 } && offsets.contains { $0 >= 1200 })
        // Pinned: a change of the hash would move every job's start.
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in "job_abc".utf8 { hash = (hash ^ UInt64(byte)) &* 0x0100_0000_01b3 }
        #expect(ScheduleSpread.offset(jobID: "job_abc", seconds: 1800) == Int(hash % 1800))
    }

    @Test func aSlotInsideTheWindowStartsAtOnceAndOneOutsideWaitsForTheOpening() throws {
        let plan = StartPlan(jobID: "job_a", timeZone: "UTC", window: try BackupWindow.parse("01:00-05:00"), spreadSeconds: nil)
        #expect(plan.start(forSlot: Self.utc("2026-06-01T02:00:00Z")) == Self.utc("2026-06-01T02:00:00Z"))
        #expect(!plan.isHeld(slot: Self.utc("2026-06-01T02:00:00Z")))
        #expect(plan.start(forSlot: Self.utc("2026-06-01T00:30:00Z")) == Self.utc("2026-06-01T01:00:00Z"))
        #expect(plan.start(forSlot: Self.utc("2026-06-01T05:00:00Z")) == Self.utc("2026-06-02T01:00:00Z"), "the end is not inside")
        #expect(plan.start(forSlot: Self.utc("2026-06-01T23:00:00Z")) == Self.utc("2026-06-02T01:00:00Z"))
        #expect(plan.isHeld(slot: Self.utc("2026-06-01T23:00:00Z")))
    }

    @Test func windowsCrossingMidnight() throws {
        let plan = StartPlan(jobID: "job_a", timeZone: "UTC", window: try BackupWindow.parse("22:00-04:00"), spreadSeconds: nil)
        #expect(plan.start(forSlot: Self.utc("2026-06-01T23:30:00Z")) == Self.utc("2026-06-01T23:30:00Z"))
        #expect(plan.start(forSlot: Self.utc("2026-06-02T03:59:00Z")) == Self.utc("2026-06-02T03:59:00Z"))
        #expect(plan.start(forSlot: Self.utc("2026-06-02T04:00:00Z")) == Self.utc("2026-06-02T22:00:00Z"))
        #expect(plan.start(forSlot: Self.utc("2026-06-02T12:00:00Z")) == Self.utc("2026-06-02T22:00:00Z"))
        #expect(plan.start(forSlot: Self.utc("2026-06-02T21:59:59Z")) == Self.utc("2026-06-02T22:00:00Z"))
    }

    @Test func spreadAddsTheJobsOffsetAndKeepsItWhenHeldForTheWindow() throws {
        let offset = ScheduleSpread.offset(jobID: "job_spread", seconds: 1800)
        let spreadOnly = StartPlan(jobID: "job_spread", timeZone: "UTC", window: nil, spreadSeconds: 1800)
        let slot = Self.utc("2026-06-01T02:00:00Z")
        #expect(spreadOnly.start(forSlot: slot) == slot.addingTimeInterval(TimeInterval(offset)))
        #expect(!spreadOnly.isHeld(slot: slot))
        let held = StartPlan(jobID: "job_spread", timeZone: "UTC", window: try BackupWindow.parse("03:00-05:00"), spreadSeconds: 1800)
        #expect(held.start(forSlot: slot) == Self.utc("2026-06-01T03:00:00Z").addingTimeInterval(TimeInterval(offset)))
        #expect(held.isHeld(slot: slot))
        // A spread longer than the window: the offset wraps inside the window.
        let narrow = StartPlan(jobID: "job_spread", timeZone: "UTC", window: try BackupWindow.parse("03:00-03:10"), spreadSeconds: 1800)
        #expect(
            narrow.start(forSlot: slot) == Self.utc("2026-06-01T03:00:00Z").addingTimeInterval(TimeInterval(offset % 600)))
    }

    @Test func dstSpringForwardOpensAtTheJump() throws {
        // Europe/Berlin 2026-03-29: 02:00 CET becomes 03:00 CEST (01:00 UTC). A window opening at 02:30 opens at the jump.
        let plan = StartPlan(jobID: "job_a", timeZone: "Europe/Berlin", window: try BackupWindow.parse("02:30-05:00"), spreadSeconds: nil)
        let slot = Self.utc("2026-03-28T23:00:00Z")  // 00:00 CET
        #expect(plan.start(forSlot: slot) == Self.utc("2026-03-29T01:00:00Z"), "03:00 CEST, the first moment after the gap")
        // The day before and after: 02:30 local is 01:30 UTC (CET) and 00:30 UTC (CEST).
        #expect(plan.start(forSlot: Self.utc("2026-03-27T23:00:00Z")) == Self.utc("2026-03-28T01:30:00Z"))
        #expect(plan.start(forSlot: Self.utc("2026-03-29T22:00:00Z")) == Self.utc("2026-03-30T00:30:00Z"))
        // A window of 01:00-05:00 is 4 h long on the wall clock; the slot at 02:15 UTC (04:15 CEST) is inside.
        let wide = StartPlan(jobID: "job_a", timeZone: "Europe/Berlin", window: try BackupWindow.parse("01:00-05:00"), spreadSeconds: nil)
        #expect(wide.start(forSlot: Self.utc("2026-03-29T02:15:00Z")) == Self.utc("2026-03-29T02:15:00Z"))
    }

    @Test func dstFallBackOpensAtTheFirstOccurrence() throws {
        // Europe/Berlin 2026-10-25: 03:00 CEST becomes 02:00 CET (01:00 UTC); 02:30 happens twice.
        let plan = StartPlan(jobID: "job_a", timeZone: "Europe/Berlin", window: try BackupWindow.parse("02:30-05:00"), spreadSeconds: nil)
        #expect(plan.start(forSlot: Self.utc("2026-10-24T22:00:00Z")) == Self.utc("2026-10-25T00:30:00Z"), "02:30 CEST, the first one")
        #expect(plan.start(forSlot: Self.utc("2026-10-25T01:45:00Z")) == Self.utc("2026-10-25T01:45:00Z"), "02:45 CET, inside")
        #expect(BackupWindow(start: 150, end: 300).contains(Self.utc("2026-10-25T01:30:00Z"), in: berlin), "the second 02:30 is inside too")
    }

    @Test func previewListsShiftedStartsAndMergesHeldSlots() throws {
        let hourly = try Schedule.parse("hourly", timeZone: "UTC")
        let plan = StartPlan(jobID: "job_a", timeZone: "UTC", window: try BackupWindow.parse("01:00-03:00"), spreadSeconds: nil)
        let from = Self.utc("2026-06-01T03:30:00Z")
        let starts = plan.starts(of: hourly, after: from, count: 4)
        // 04:00 … 00:00 the next day are held for 01:00 and merge into the 01:00 slot (which starts then anyway).
        #expect(
            starts.map(\.start) == [
                Self.utc("2026-06-02T01:00:00Z"), Self.utc("2026-06-02T02:00:00Z"), Self.utc("2026-06-03T01:00:00Z"),
                Self.utc("2026-06-03T02:00:00Z"),
            ])
        #expect(starts.first?.slot == Self.utc("2026-06-02T01:00:00Z"))
        #expect(plan.isSuperseded(slot: Self.utc("2026-06-01T04:00:00Z"), schedule: hourly))
        #expect(!plan.isSuperseded(slot: Self.utc("2026-06-02T02:00:00Z"), schedule: hourly))
        // A daily schedule outside the window: each day's slot moves to the opening.
        let daily = try Schedule.parse("daily 23:00", timeZone: "UTC")
        let moved = plan.starts(of: daily, after: Self.utc("2026-06-01T12:00:00Z"), count: 2)
        #expect(moved.map(\.slot) == [Self.utc("2026-06-01T23:00:00Z"), Self.utc("2026-06-02T23:00:00Z")])
        #expect(moved.map(\.start) == [Self.utc("2026-06-02T01:00:00Z"), Self.utc("2026-06-03T01:00:00Z")])
        // A slot whose held start is still ahead counts as the next run.
        let late = plan.starts(of: daily, after: Self.utc("2026-06-02T00:00:00Z"), count: 1)
        #expect(late.first?.slot == Self.utc("2026-06-01T23:00:00Z") && late.first?.start == Self.utc("2026-06-02T01:00:00Z"))
        // Without window or spread the preview is the schedule itself.
        let plain = StartPlan(jobID: "job_a", timeZone: "UTC", window: nil, spreadSeconds: nil)
        #expect(plain.starts(of: daily, after: from, count: 3).map(\.start) == daily.nextElapses(after: from, count: 3))
    }

    @Test func manifestsSignedBeforeWindowsStillMatchAJobWithout() throws {
        let schedule = try Schedule.parse("daily", timeZone: "UTC")
        var job = Job(
            id: "job_m", accountID: "acct_1", serverID: "srv_1", name: "m", kind: .full, sources: JobSources(paths: ["/srv"]),
            schedule: schedule, retention: .standard, destinationIDs: ["dst_1"], enabled: true, createdAt: Date(timeIntervalSince1970: 0),
            updatedAt: Date(timeIntervalSince1970: 0))
        let manifest = JobManifest(job: job, version: 1)
        let body = try JSONEncoder().encode(manifest)
        let text = String(decoding: body, as: UTF8.self)
        #expect(!text.contains("window") && !text.contains("spreadSeconds"), "absent fields: older signatures still hold")
        // A body written before the fields existed decodes to "no window, no spread".
        var old = try #require(try JSONSerialization.jsonObject(with: body) as? [String: Any])
        old.removeValue(forKey: "window")
        let decoded = try JSONDecoder().decode(JobManifest.self, from: try JSONSerialization.data(withJSONObject: old))
        #expect(decoded.window == nil && decoded.spreadSeconds == nil && decoded.differences(from: job).isEmpty)
        job.window = try BackupWindow.parse("01:00-05:00")
        job.spreadSeconds = 600
        #expect(decoded.differences(from: job) == ["window", "spread"])
        let signed = JobManifest(job: job, version: 2)
        #expect(signed.differences(from: job).isEmpty)
    }
}
