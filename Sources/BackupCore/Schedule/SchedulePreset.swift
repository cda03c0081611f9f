import Foundation

/// Human-friendly schedule presets, translated to systemd calendar events.
///
/// Grammar (words are case-insensitive, separated by spaces):
///
///     minutely | hourly | daily | weekly | monthly | quarterly
///       | semiannually | semi-annually | biannually | bi-annually | yearly | annually
///                                   systemd's shorthands, same meaning ("weekly" is
///                                   Monday 00:00, "quarterly" Jan/Apr/Jul/Oct 1st 00:00)
///     hourly MM | hourly :MM        every hour at minute MM (0–59)
///     daily TIME                    every day at TIME
///     weekly DAY [TIME]             every DAY at TIME (default 00:00)
///     monthly [DOM] [TIME]          day DOM of every month (1–31, default 1, or "last" for the
///                                   last day) at TIME (default 00:00); months without day
///                                   DOM are skipped, as systemd does
///     weekdays [TIME]               Monday to Friday at TIME (default 00:00)
///     weekends [TIME]               Saturday and Sunday at TIME (default 00:00)
///     every [N] minute|minutes      every N minutes from the full hour; N divides 60
///                                   (1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30, 60)
///     every [N] hour|hours          every N hours from midnight; N divides 24
///                                   (1, 2, 3, 4, 6, 8, 12, 24)
///
///     TIME = H:MM or HH:MM, optionally :SS (hours 0–23, minutes and seconds 00–59)
///     DAY  = mon, tue, wed, thu, fri, sat, sun or the full names
///
/// Examples: `daily 02:30` → `*-*-* 02:30:00`, `weekly sun 03:00` → `Sun *-*-* 03:00:00`,
/// `monthly 15 04:00` → `*-*-15 04:00:00`, `every 15 minutes` → `*-*-* *:00/15:00`,
/// `weekdays 18:00` → `Mon..Fri *-*-* 18:00:00`.
enum SchedulePreset {
    static let keywords: Set<String> = [
        "minutely", "hourly", "daily", "weekly", "monthly", "quarterly", "semiannually",
        "semi-annually", "biannually", "bi-annually", "yearly", "annually", "weekdays", "weekends", "every",
    ]

    /// The calendar expression for a preset, or nil when `words` do not start with a preset
    /// keyword. Throws when the keyword is a preset's but its arguments are wrong.
    static func expression(for words: [String], input: String) throws -> String? {
        guard let first = words.first?.lowercased(), keywords.contains(first) else { return nil }
        let args = Array(words.dropFirst())
        func tooMany(_ usage: String) -> ScheduleError {
            let extra = args.joined(separator: " ")
            return ScheduleError(
                input: input, fragment: extra,
                reason: "\(ScheduleError.quoted(extra)) is not understood after \"\(first)\"; use \(usage)")
        }
        switch first {
        case "minutely":
            guard args.isEmpty else { throw tooMany("\"minutely\" alone or \"every N minutes\"") }
            return "*-*-* *:*:00"
        case "hourly":
            if args.isEmpty { return "*-*-* *:00:00" }
            guard args.count == 1 else { throw tooMany("\"hourly\", \"hourly MM\" or \"hourly :MM\"") }
            var text = args[0]
            if text.hasPrefix(":") { text.removeFirst() }
            guard let minute = number(text, maxDigits: 2), minute <= 59 else {
                throw ScheduleError(
                    input: input, fragment: args[0],
                    reason: "\(ScheduleError.quoted(args[0])) is not a minute of the hour; write \"hourly MM\" or \"hourly :MM\" with MM 0–59")
            }
            return "*-*-* *:\(two(minute)):00"
        case "daily":
            if args.isEmpty { return "*-*-* 00:00:00" }
            guard args.count == 1 else { throw tooMany("\"daily\" or \"daily HH:MM\"") }
            return "*-*-* " + (try time(args[0], input: input))
        case "weekly":
            if args.isEmpty { return "Mon *-*-* 00:00:00" }
            guard args.count <= 2 else { throw tooMany("\"weekly DAY [HH:MM]\", e.g. \"weekly sun 03:00\"") }
            let day = try weekday(args[0], input: input)
            let at = args.count == 2 ? try time(args[1], input: input) : "00:00:00"
            return "\(day) *-*-* \(at)"
        case "monthly":
            if args.isEmpty { return "*-*-01 00:00:00" }
            guard args.count <= 2 else { throw tooMany("\"monthly [DAY] [HH:MM]\", e.g. \"monthly 15 04:00\"") }
            var dayPart = "-01"
            var timePart = "00:00:00"
            if args.count == 2 {
                dayPart = try monthDay(args[0], input: input)
                timePart = try time(args[1], input: input)
            } else if args[0].contains(":") {
                timePart = try time(args[0], input: input)
            } else {
                dayPart = try monthDay(args[0], input: input)
            }
            return "*-*\(dayPart) \(timePart)"
        case "quarterly", "semiannually", "semi-annually", "biannually", "bi-annually", "yearly", "annually":
            guard args.isEmpty else { throw tooMany("\"\(first)\" alone, or a calendar expression such as \"*-01,07-01 02:00\"") }
            switch first {
            case "quarterly": return "*-01,04,07,10-01 00:00:00"
            case "yearly", "annually": return "*-01-01 00:00:00"
            default: return "*-01,07-01 00:00:00"
            }
        case "weekdays", "weekends":
            guard args.count <= 1 else { throw tooMany("\"\(first) [HH:MM]\"") }
            let at = args.isEmpty ? "00:00:00" : try time(args[0], input: input)
            return (first == "weekdays" ? "Mon..Fri" : "Sat,Sun") + " *-*-* " + at
        default:  // every
            return try every(args, input: input)
        }
    }

    // MARK: Pieces

    private static func every(_ args: [String], input: String) throws -> String {
        let usage = "use \"every N minutes\" (N divides 60) or \"every N hours\" (N divides 24)"
        var rest = args
        var count = 1
        var countText = "1"
        if let first = rest.first, first.first?.isNumber == true {
            guard let n = number(first, maxDigits: 4) else {
                throw ScheduleError(input: input, fragment: first, reason: "\(ScheduleError.quoted(first)) is not a number; \(usage)")
            }
            count = n
            countText = first
            rest.removeFirst()
        }
        guard rest.count == 1 else {
            let fragment = args.joined(separator: " ")
            throw ScheduleError(
                input: input, fragment: fragment,
                reason: "\(ScheduleError.quoted("every " + fragment)) is not a preset; \(usage)")
        }
        let unit = rest[0].lowercased()
        switch unit {
        case "minute", "minutes", "min", "mins":
            let divisors = [1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30, 60]
            guard divisors.contains(count) else {
                throw ScheduleError(
                    input: input, fragment: countText,
                    reason: "every \(countText) minutes does not divide the hour evenly; use one of 1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30 or 60")
            }
            switch count {
            case 1: return "*-*-* *:*:00"
            case 60: return "*-*-* *:00:00"
            default: return "*-*-* *:00/\(count):00"
            }
        case "hour", "hours", "h":
            let divisors = [1, 2, 3, 4, 6, 8, 12, 24]
            guard divisors.contains(count) else {
                throw ScheduleError(
                    input: input, fragment: countText,
                    reason: "every \(countText) hours does not divide the day evenly; use one of 1, 2, 3, 4, 6, 8, 12 or 24")
            }
            switch count {
            case 1: return "*-*-* *:00:00"
            case 24: return "*-*-* 00:00:00"
            default: return "*-*-* 00/\(count):00:00"
            }
        default:
            throw ScheduleError(
                input: input, fragment: rest[0],
                reason: "\(ScheduleError.quoted(rest[0])) is not a unit; \(usage)")
        }
    }

    /// Parses H:MM or HH:MM[:SS] into "HH:MM:SS".
    static func time(_ text: String, input: String) throws -> String {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        let bad = ScheduleError(
            input: input, fragment: text,
            reason: "\(ScheduleError.quoted(text)) is not a time of day; write HH:MM (hours 0–23, minutes 00–59), e.g. \"02:30\"")
        guard parts.count == 2 || parts.count == 3,
            let hour = number(parts[0], maxDigits: 2),
            parts[1].count == 2, let minute = number(parts[1], maxDigits: 2)
        else { throw bad }
        if hour > 23 {
            throw ScheduleError(
                input: input, fragment: parts[0],
                reason: "\(ScheduleError.quoted(parts[0])) is not an hour (0–23)")
        }
        if minute > 59 {
            throw ScheduleError(
                input: input, fragment: parts[1],
                reason: "\(ScheduleError.quoted(parts[1])) is not a minute (0–59)")
        }
        var second = 0
        if parts.count == 3 {
            guard parts[2].count == 2, let s = number(parts[2], maxDigits: 2) else { throw bad }
            if s > 59 {
                throw ScheduleError(
                    input: input, fragment: parts[2],
                    reason: "\(ScheduleError.quoted(parts[2])) is not a second (0–59)")
            }
            second = s
        }
        return "\(two(hour)):\(two(minute)):\(two(second))"
    }

    private static let dayNames = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    private static let fullDayNames = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]

    private static func weekday(_ text: String, input: String) throws -> String {
        let lower = text.lowercased()
        guard let index = dayNames.firstIndex(of: lower) ?? fullDayNames.firstIndex(of: lower) else {
            throw ScheduleError(
                input: input, fragment: text,
                reason: "\(ScheduleError.quoted(text)) is not a day of the week; use mon, tue, wed, thu, fri, sat or sun (or the full name)")
        }
        return dayNames[index].prefix(1).uppercased() + dayNames[index].dropFirst()
    }

    /// "-DD" or "~01" (last day).
    private static func monthDay(_ text: String, input: String) throws -> String {
        if text.lowercased() == "last" { return "~01" }
        guard let day = number(text, maxDigits: 2), (1...31).contains(day) else {
            throw ScheduleError(
                input: input, fragment: text,
                reason: "\(ScheduleError.quoted(text)) is not a day of the month; use 1–31 or \"last\"")
        }
        return "-" + two(day)
    }

    static func number(_ text: String, maxDigits: Int) -> Int? {
        guard !text.isEmpty, text.count <= maxDigits, text.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }) else { return nil }
        return Int(text)
    }

    static func two(_ value: Int) -> String {
        value < 10 ? "0\(value)" : String(value)
    }
}
