import Foundation

/// The hours of the day a job's scheduled runs may start, in the schedule's time zone, e.g.
/// `01:00-05:00`; a window whose end is at or before its start crosses midnight (`22:00-04:00`).
/// A run that has started inside the window is never stopped when the window closes.
public struct BackupWindow: Sendable, Hashable, Codable, CustomStringConvertible {
    /// Minutes after local midnight (0–1439).
    public var start: Int
    public var end: Int

    public init(start: Int, end: Int) {
        self.start = start
        self.end = end
    }

    /// Parses `HH:MM-HH:MM`; `field` names the input in the error.
    public static func parse(_ text: String, field: String = "window") throws(DomainError) -> BackupWindow {
        let parts = text.trimmingSpaces.split(separator: "-", omittingEmptySubsequences: false).map { String($0).trimmingSpaces }
        let example = "give the start and end as HH:MM-HH:MM in the schedule's time zone, e.g. 01:00-05:00 (22:00-04:00 crosses midnight)"
        guard parts.count == 2 else { throw .invalid(field, "\"\(text)\" is not a window; \(example)") }
        guard let start = minutes(parts[0]) else { throw .invalid(field, "\"\(parts[0])\" is not a time of day (00:00–23:59); \(example)") }
        guard let end = minutes(parts[1]) else { throw .invalid(field, "\"\(parts[1])\" is not a time of day (00:00–23:59); \(example)") }
        guard start != end else {
            throw .invalid(field, "the window \"\(text)\" starts and ends at the same time; leave the window off to allow any time, or \(example)")
        }
        return BackupWindow(start: start, end: end)
    }

    /// `H:MM` or `HH:MM` → minutes after midnight.
    static func minutes(_ text: String) -> Int? {
        let pieces = text.split(separator: ":", omittingEmptySubsequences: false)
        guard pieces.count == 2, (1...2).contains(pieces[0].count), pieces[1].count == 2,
            pieces.allSatisfy({ $0.allSatisfy { $0.isASCII && $0.isNumber } }),
            let hour = Int(pieces[0]), let minute = Int(pieces[1]), hour < 24, minute < 60
        else { return nil }
        return hour * 60 + minute
    }

    /// In range and not empty.
    public func validated(field: String = "window") throws(DomainError) -> BackupWindow {
        guard (0..<1440).contains(start), (0..<1440).contains(end), start != end else {
            throw .invalid(field, "the window's start and end must be different times of day (00:00–23:59)")
        }
        return self
    }

    /// Minutes the window is open each day.
    public var length: Int { end > start ? end - start : 1440 - start + end }

    public var crossesMidnight: Bool { end <= start }

    public var text: String { Self.format(start) + "-" + Self.format(end) }

    /// Encoded as its text, `01:00-05:00`.
    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        do {
            self = try Self.parse(text)
        } catch {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: error.description))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(text)
    }
    public var description: String { text }

    static func format(_ minutes: Int) -> String {
        let hour = minutes / 60
        let minute = minutes % 60
        return (hour < 10 ? "0" : "") + String(hour) + ":" + (minute < 10 ? "0" : "") + String(minute)
    }

    /// Whether a local time of day (minutes after midnight) is inside.
    public func contains(minuteOfDay minute: Int) -> Bool {
        crossesMidnight ? (minute >= start || minute < end) : (minute >= start && minute < end)
    }

    /// Whether `date` is inside the window in `zone`.
    public func contains(_ date: Date, in zone: TimeZone) -> Bool {
        contains(minuteOfDay: Self.minuteOfDay(date, in: zone))
    }

    /// The first opening of the window strictly after `date`. An opening time that does not exist
    /// that day (skipped by a DST change) opens at the first moment after the jump; a repeated one
    /// opens at its first occurrence.
    public func nextOpening(after date: Date, in zone: TimeZone) -> Date {
        let localDay = Self.localSeconds(date, in: zone).floorDiv(86_400)
        for day in (localDay - 1)...(localDay + 2) {
            let candidate = Self.firstInstant(localSeconds: day * 86_400 + start * 60, in: zone)
            if candidate > date { return candidate }
        }
        return date.addingTimeInterval(86_400)
    }

    /// Seconds since 1970-01-01 00:00 local time (the wall clock as if it were UTC).
    static func localSeconds(_ date: Date, in zone: TimeZone) -> Int {
        Int((date.timeIntervalSince1970 + TimeInterval(zone.secondsFromGMT(for: date))).rounded(.down))
    }

    /// The first instant whose wall clock reads `localSeconds`: its first occurrence when the
    /// clock reads it twice (autumn), the end of the jump when it never does (spring).
    static func firstInstant(localSeconds wall: Int, in zone: TimeZone) -> Date {
        let guess = Date(timeIntervalSince1970: TimeInterval(wall))
        let offsets = Set([-2, -1, 0, 1, 2].map { zone.secondsFromGMT(for: guess.addingTimeInterval(TimeInterval($0 * 43_200))) })
        let matches = offsets.map { Date(timeIntervalSince1970: TimeInterval(wall - $0)) }
            .filter { localSeconds($0, in: zone) == wall }
        if let first = matches.min() { return first }
        // In a gap: the transition that skipped it.
        let earliest = Date(timeIntervalSince1970: TimeInterval(wall - (offsets.max() ?? 0) - 1))
        return zone.nextDaylightSavingTimeTransition(after: earliest) ?? Date(timeIntervalSince1970: TimeInterval(wall - (offsets.min() ?? 0)))
    }

    static func minuteOfDay(_ date: Date, in zone: TimeZone) -> Int {
        let secondOfDay = ((localSeconds(date, in: zone) % 86_400) + 86_400) % 86_400
        return secondOfDay / 60
    }
}

extension Int {
    /// Division rounding towards minus infinity.
    fileprivate func floorDiv(_ divisor: Int) -> Int {
        let quotient = self / divisor
        return (self % divisor != 0 && (self < 0) != (divisor < 0)) ? quotient - 1 : quotient
    }
}

/// A stable delay within `seconds` added to each scheduled start of a job, derived from the job's
/// id (so 200 servers with `daily 02:00` do not all start at 02:00:00, and a job keeps its offset).
public struct ScheduleSpread: Sendable {
    public static let maximum = 12 * 3600

    /// Parses `30m`, `2h`, `90s`, `45` (minutes) or `off`/`0` (nil: no spread).
    public static func parse(_ text: String, field: String = "spread") throws(DomainError) -> Int? {
        let trimmed = text.trimmingSpaces.lowercased()
        if trimmed.isEmpty || trimmed == "off" || trimmed == "0" || trimmed == "none" { return nil }
        var number = trimmed
        var unit = 60
        if let last = trimmed.last, last.isLetter {
            number = String(trimmed.dropLast()).trimmingSpaces
            switch last {
            case "s": unit = 1
            case "m": unit = 60
            case "h": unit = 3600
            default: number = ""
            }
        }
        guard let value = Int(number), value > 0, value <= maximum / unit else {
            throw .invalid(field, "\"\(text)\" is not a spread; give a duration up to 12h such as 30m, 2h or 90s (off turns it off)")
        }
        return value * unit
    }

    public static func validated(_ seconds: Int?, field: String = "spread") throws(DomainError) -> Int? {
        guard let seconds, seconds != 0 else { return nil }
        guard seconds > 0, seconds <= maximum else {
            throw .invalid(field, "the spread must be between 1 second and 12 hours (\(maximum) s), not \(seconds)")
        }
        return seconds
    }

    /// `30m`, `2h`, `90s`.
    public static func text(_ seconds: Int) -> String {
        if seconds % 3600 == 0 { return "\(seconds / 3600)h" }
        if seconds % 60 == 0 { return "\(seconds / 60)m" }
        return "\(seconds)s"
    }

    /// The job's offset in whole seconds, 0 ≤ offset < `seconds`: FNV-1a of the id, the same on
    /// every machine and in every version.
    public static func offset(jobID: String, seconds: Int) -> Int {
        guard seconds > 1 else { return 0 }
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in jobID.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0100_0000_01b3
        }
        return Int(hash % UInt64(seconds))
    }
}

/// When a scheduled slot's run starts: the slot plus the job's spread offset, moved to the next
/// opening of its window (plus the same offset, within the window) when that falls outside.
/// The box's run, the hub's scheduler and every preview use this one function.
public struct StartPlan: Sendable, Equatable {
    public var window: BackupWindow?
    public var spreadSeconds: Int?
    public var jobID: String
    public var timeZone: String

    public init(jobID: String, timeZone: String, window: BackupWindow?, spreadSeconds: Int?) {
        self.jobID = jobID
        self.timeZone = timeZone
        self.window = window
        self.spreadSeconds = spreadSeconds
    }

    public init(job: Job) {
        self.init(jobID: job.id, timeZone: job.schedule.timeZone, window: job.window, spreadSeconds: job.spreadSeconds)
    }

    /// Nothing to shift.
    public var isImmediate: Bool { window == nil && (spreadSeconds ?? 0) == 0 }

    public var offset: Int { spreadSeconds.map { ScheduleSpread.offset(jobID: jobID, seconds: $0) } ?? 0 }

    /// The start of the run serving `slot`.
    public func start(forSlot slot: Date) -> Date {
        let offset = TimeInterval(self.offset)
        let spread = slot.addingTimeInterval(offset)
        guard let window else { return spread }
        let zone = TimeZone(identifier: timeZone) ?? TimeZone(identifier: "UTC")!
        if window.contains(spread, in: zone) { return spread }
        let opening = window.nextOpening(after: spread, in: zone)
        // The offset within the window, so the spread still holds for runs held until the opening.
        let inside = offset.truncatingRemainder(dividingBy: TimeInterval(window.length * 60))
        return opening.addingTimeInterval(inside)
    }

    /// Whether the start was moved by the window (not only by the spread).
    public func isHeld(slot: Date) -> Bool {
        start(forSlot: slot) != slot.addingTimeInterval(TimeInterval(offset))
    }

    /// How the plan reads, e.g. "window 01:00-05:00 Europe/Berlin, spread 30m (this job +12m 5s)".
    public var summary: String? {
        var parts: [String] = []
        if let window { parts.append("window \(window.text) \(timeZone)") }
        if let spreadSeconds {
            let offset = self.offset
            parts.append("spread \(ScheduleSpread.text(spreadSeconds)) (this job +\(offset / 60)m \(offset % 60)s)")
        }
        return parts.isEmpty ? nil : parts.joined(separator: ", ")
    }
}

extension Job {
    /// A window from a request: `01:00-05:00`, or `off`/"" for none.
    public static func validatedWindow(_ text: String, field: String = "window") throws(DomainError) -> BackupWindow? {
        let trimmed = text.trimmingSpaces.lowercased()
        if trimmed.isEmpty || trimmed == "off" || trimmed == "none" { return nil }
        return try BackupWindow.parse(text, field: field)
    }

    /// When the run of each scheduled slot starts (window and spread applied).
    public var startPlan: StartPlan { StartPlan(job: self) }
}

extension StartPlan {
    /// Whether a later slot of `schedule` starts at the same moment: slots held outside the window
    /// merge into one run at the opening (the last of them runs; the earlier ones are not run).
    public func isSuperseded(slot: Date, schedule: Schedule) -> Bool {
        guard window != nil, let next = schedule.nextElapse(after: slot) else { return false }
        return start(forSlot: next) <= start(forSlot: slot)
    }

    /// The runs a schedule starts after `date`, in order of their start: each with the slot it
    /// serves. Merged slots appear once (the last of them).
    public func starts(of schedule: Schedule, after date: Date, count: Int) -> [(slot: Date, start: Date)] {
        guard count > 0 else { return [] }
        if isImmediate { return schedule.nextElapses(after: date, count: count).map { ($0, $0) } }
        let lookback = TimeInterval(spreadSeconds ?? 0) + (window == nil ? 0 : 26 * 3600)
        var cursor = date.addingTimeInterval(-lookback - 1)
        var found: [(slot: Date, start: Date)] = []
        var examined = 0
        while examined < 20_000 {
            let batch = schedule.nextElapses(after: cursor, count: 256)
            if batch.isEmpty { break }
            examined += batch.count
            for slot in batch {
                let start = start(forSlot: slot)
                if start > date && !isSuperseded(slot: slot, schedule: schedule) { found.append((slot, start)) }
            }
            cursor = batch[batch.count - 1]
            // Starts never come before their slot: once `count` starts are known and the slots
            // have passed the latest of them, no earlier start can follow.
            if found.count >= count && cursor > found.map(\.start).sorted()[count - 1] { break }
        }
        return Array(found.sorted { $0.start < $1.start }.prefix(count))
    }
}

extension Job {
    /// The start of the next scheduled run after `date` (window and spread applied).
    public func nextStart(after date: Date) -> Date? {
        startPlan.starts(of: schedule, after: date, count: 1).first?.start
    }
}

extension JobStatus {
    /// The start of the next scheduled run after `date` (window and spread applied).
    public func nextStart(after date: Date) -> Date? {
        StartPlan(jobID: id, timeZone: schedule.timeZone, window: window, spreadSeconds: spreadSeconds)
            .starts(of: schedule, after: date, count: 1).first?.start
    }
}
