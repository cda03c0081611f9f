import Foundation

/// When a backup job runs: a systemd calendar event (`OnCalendar=`) in a time zone.
///
/// Create one with ``parse(_:timeZone:)`` from any of
/// * a preset (see ``SchedulePreset``): `daily 02:30`, `weekly sun 03:00`, `every 15 minutes`…
/// * a 5-field cron line or cron macro (see ``CronExpression``): `30 2 * * 1-5`, `@daily`
/// * a systemd calendar expression (see ``CalendarSpecParser``): `Mon..Fri *-*-* 02:30`
///
/// The schedule stores the normalized expression exactly as systemd 252 prints it
/// (`systemd-analyze calendar` "Normalized form:", without the zone) and the zone, and
/// computes elapse times exactly as systemd does, including around DST changes.
///
/// Time zones inside the expression: systemd allows a trailing zone (`daily Europe/Berlin`,
/// `02:00 UTC`). `parse` accepts it and moves it into ``timeZone`` when the `timeZone`
/// argument is the default "UTC" or names the same zone; a different `timeZone` argument is
/// an error (the schedule would be ambiguous). A trailing "utc" in any case means UTC, as in
/// systemd. The `@EPOCH` form names an absolute instant, so its zone is always "UTC".
public struct Schedule: Sendable, Hashable, Codable, CustomStringConvertible {
    /// Normalized systemd OnCalendar expression WITHOUT a time zone suffix, e.g. "*-*-* 02:30:00".
    public let calendar: String
    /// IANA time zone id, e.g. "Europe/Berlin" or "UTC".
    public let timeZone: String

    /// Parses a preset, a 5-field cron line or an OnCalendar expression.
    /// - Throws: ``ScheduleError`` naming the bad fragment.
    public static func parse(_ input: String, timeZone: String = "UTC") throws -> Schedule {
        let zoneArgument = try ScheduleTimeZone.validate(timeZone, input: input)
        var words = input.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }).map(String.init)
        guard !words.isEmpty else {
            throw ScheduleError(
                input: input, fragment: "",
                reason:
                    "the schedule is empty; use a preset such as \"daily 02:30\", a cron line such as \"30 2 * * *\" or a calendar expression such as \"*-*-* 02:30\""
            )
        }

        // A trailing time zone inside the expression.
        var zone = zoneArgument
        if words.count >= 2, let last = words.last {
            if let found = ScheduleTimeZone.canonical(last) {
                if zoneArgument != "UTC" && zoneArgument != found {
                    throw ScheduleError(
                        input: input, fragment: last,
                        reason:
                            "the expression ends in the time zone \(ScheduleError.quoted(found)) but the schedule's time zone is \(ScheduleError.quoted(zoneArgument)); give the zone only once (preferably in the time zone field)"
                    )
                }
                zone = found
                words.removeLast()
            } else if looksLikeTimeZone(last) {
                throw ScheduleTimeZone.error(for: last, input: input)
            }
        }

        let expression: String
        let lowered = words[0].lowercased()
        if words.count == 1 && lowered.hasPrefix("@") && !lowered.dropFirst().allSatisfy(\.isNumber) {
            expression = try CronExpression.macro(words[0], input: input)
        } else if let preset = try SchedulePreset.expression(for: words, input: input) {
            expression = preset
        } else if words.count == 5 {
            expression = try CronExpression.expression(for: words, input: input)
        } else if words.count > 3 {
            let body = words.joined(separator: " ")
            let cronLike = words.allSatisfy { $0.allSatisfy { $0.isLetter || $0.isNumber || "*,-/?#".contains($0) } }
            if cronLike {
                throw ScheduleError(
                    input: input, fragment: body,
                    reason:
                        "a cron line has exactly 5 fields (minute hour day-of-month month day-of-week), this has \(words.count); seconds, years and commands are not supported"
                )
            }
            throw ScheduleError(
                input: input, fragment: body,
                reason:
                    "\(ScheduleError.quoted(body)) has too many parts; a calendar expression is [weekdays] [date] [time], e.g. \"Mon..Fri *-*-* 02:30\", optionally followed by a time zone"
            )
        } else {
            expression = words.joined(separator: " ")
        }

        let spec = try CalendarSpecParser.parse(expression, input: input)
        if spec.isAbsoluteUTC { zone = "UTC" }
        return Schedule(validatedCalendar: spec.normalizedString, timeZone: zone)
    }

    private init(validatedCalendar: String, timeZone: String) {
        self.calendar = validatedCalendar
        self.timeZone = timeZone
    }

    /// A word that was probably meant as a time zone ("Europe/Berln", "europe/berlin", "CET"),
    /// as opposed to a cron field such as "mon-fri/2".
    private static func looksLikeTimeZone(_ word: String) -> Bool {
        if ScheduleTimeZone.isAbbreviation(word) { return true }
        let parts = word.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count >= 2, let area = parts.first, let place = parts.last else { return false }
        let letters = { (s: Substring) in s.count >= 2 && s.allSatisfy { $0.isLetter || $0 == "_" } }
        return letters(area) && place.first?.isLetter == true
            && word.allSatisfy { $0.isLetter || $0.isNumber || "/_-+".contains($0) }
            && (area.first?.isUppercase == true || word.contains("_") || area.count > 3)
    }

    /// The OnCalendar line to put in a systemd .timer unit: calendar + " " + timeZone
    /// (the zone is always appended; systemd accepts "UTC" and IANA names).
    public var onCalendarLine: String { calendar + " " + timeZone }

    public var description: String { onCalendarLine }

    // MARK: Elapse times

    /// The parsed expression and clock, or nil if the stored values are not valid. Fleets share a
    /// handful of schedules, so parsed ones are kept (pages evaluate thousands of jobs).
    private func compiled() -> (CalendarSpec, CalendarSpec.WallClock)? {
        let key = calendar + "\u{0}" + timeZone
        if let hit = CompiledSchedules.shared.get(key) { return hit }
        guard let zone = ScheduleTimeZone.canonical(timeZone),
            let spec = try? CalendarSpecParser.parse(calendar, input: calendar)
        else { return nil }
        let compiled = (spec, ScheduleTimeZone.clock(for: spec.isAbsoluteUTC ? "UTC" : zone))
        CompiledSchedules.shared.put(key, compiled)
        return compiled
    }

    /// The next `count` elapse times strictly after `date` (same semantics as systemd).
    /// Fewer (or none) when the schedule stops elapsing (systemd computes up to year 2199).
    public func nextElapses(after date: Date, count: Int) -> [Date] {
        guard count > 0, let (spec, clock) = compiled() else { return [] }
        let micro = (date.timeIntervalSince1970 * 1_000_000).rounded(.down)
        guard micro < 9.0e18 else { return [] }
        var current = max(Int64(max(micro, -1)), -1)
        var result: [Date] = []
        result.reserveCapacity(min(count, 1024))
        for _ in 0..<count {
            guard let next = spec.nextElapse(afterMicroseconds: current, clock: clock) else { break }
            result.append(Self.date(microseconds: next))
            current = next
        }
        return result
    }

    /// The first elapse time strictly after `date`, or nil if there is none.
    public func nextElapse(after date: Date) -> Date? {
        nextElapses(after: date, count: 1).first
    }

    private static func date(microseconds: Int64) -> Date {
        let seconds = microseconds / 1_000_000
        let micro = microseconds % 1_000_000
        return Date(timeIntervalSince1970: TimeInterval(seconds) + TimeInterval(micro) / 1_000_000)
    }

    // MARK: Codable

    private enum CodingKeys: String, CodingKey {
        case calendar, timeZone
    }

    /// Decodes `{"calendar": …, "timeZone": …}`; the calendar is parsed and normalized like
    /// ``parse(_:timeZone:)`` input, so invalid schedules are refused.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let calendar = try container.decode(String.self, forKey: .calendar)
        let timeZone = try container.decodeIfPresent(String.self, forKey: .timeZone) ?? "UTC"
        do {
            self = try Schedule.parse(calendar, timeZone: timeZone)
        } catch let error as ScheduleError {
            throw DecodingError.dataCorruptedError(forKey: .calendar, in: container, debugDescription: error.description)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(calendar, forKey: .calendar)
        try container.encode(timeZone, forKey: .timeZone)
    }
}

/// Parsed schedules by (expression, zone): bounded, shared by every caller.
private final class CompiledSchedules: @unchecked Sendable {
    static let shared = CompiledSchedules()
    private let lock = NSLock()
    private var entries: [String: (CalendarSpec, CalendarSpec.WallClock)] = [:]

    func get(_ key: String) -> (CalendarSpec, CalendarSpec.WallClock)? {
        lock.withLock { entries[key] }
    }

    func put(_ key: String, _ value: (CalendarSpec, CalendarSpec.WallClock)) {
        lock.withLock {
            if entries.count >= 4096 { entries.removeAll(keepingCapacity: true) }
            entries[key] = value
        }
    }
}
