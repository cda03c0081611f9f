import Foundation

/// Translation of classic 5-field cron lines (`minute hour day-of-month month day-of-week`)
/// and cron macros into systemd calendar events.
///
/// Each field accepts `*`, numbers, lists `a,b`, ranges `a-b`, steps `*/n`, `a-b/n` and
/// `a/n` (= `a-MAX/n`), month names `jan`…`dec` and weekday names `sun`…`sat` (any case);
/// day-of-week 0 and 7 both mean Sunday. Ranges must not wrap around (`fri-mon` is refused).
///
/// Classic cron fires when the day of month *or* the day of week matches if both fields are
/// restricted (neither starts with `*`); systemd calendar events require both to match, so
/// such lines are refused with a suggestion to use two schedules. When one of the two fields
/// starts with `*` (even `*/2`) cron itself combines them with AND, and the translation is
/// exact.
///
/// Macros: `@hourly`, `@daily`, `@midnight`, `@weekly` (cron's: Sunday 00:00, unlike
/// systemd's Monday), `@monthly`, `@yearly`, `@annually`. `@reboot` is not a calendar schedule.
enum CronExpression {
    static func macro(_ word: String, input: String) throws -> String {
        switch word.lowercased() {
        case "@hourly": return "*-*-* *:00:00"
        case "@daily", "@midnight": return "*-*-* 00:00:00"
        case "@weekly": return "Sun *-*-* 00:00:00"
        case "@monthly": return "*-*-01 00:00:00"
        case "@yearly", "@annually": return "*-01-01 00:00:00"
        case "@reboot":
            throw ScheduleError(
                input: input, fragment: word,
                reason: "\"@reboot\" is not a calendar schedule; use a preset such as \"daily\" or a cron line")
        default:
            throw ScheduleError(
                input: input, fragment: word,
                reason: "\(ScheduleError.quoted(word)) is not a cron macro; use @hourly, @daily, @midnight, @weekly, @monthly, @yearly or @annually")
        }
    }

    private enum Field: Int, CaseIterable {
        case minute, hour, dayOfMonth, month, dayOfWeek

        var range: ClosedRange<Int> {
            switch self {
            case .minute: 0...59
            case .hour: 0...23
            case .dayOfMonth: 1...31
            case .month: 1...12
            case .dayOfWeek: 0...7
            }
        }

        var noun: String {
            switch self {
            case .minute: "a minute (0–59)"
            case .hour: "an hour (0–23)"
            case .dayOfMonth: "a day of the month (1–31)"
            case .month: "a month (1–12 or jan–dec)"
            case .dayOfWeek: "a day of the week (0–7 or sun–sat; 0 and 7 are Sunday)"
            }
        }

        var names: [String] {
            switch self {
            case .month: ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
            case .dayOfWeek: ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]
            default: []
            }
        }

        /// Value of the first name (jan = 1, sun = 0).
        var firstNameValue: Int { self == .month ? 1 : 0 }
    }

    /// One list item of a field.
    private struct Item {
        var start: Int
        var stop: Int?
        var step: Int?
        var isStar: Bool
    }

    /// Translates the five fields of a cron line to a calendar expression.
    static func expression(for fields: [String], input: String) throws -> String {
        precondition(fields.count == 5)
        var lists: [[Item]] = []
        for field in Field.allCases {
            lists.append(try parseField(fields[field.rawValue], as: field, input: input))
        }
        let domText = fields[Field.dayOfMonth.rawValue]
        let dowText = fields[Field.dayOfWeek.rawValue]
        if !domText.hasPrefix("*") && !dowText.hasPrefix("*") {
            let fragment = "\(domText) \(dowText)"
            let m = fields[0]
            let h = fields[1]
            let mon = fields[3]
            throw ScheduleError(
                input: input, fragment: fragment,
                reason:
                    "cron runs this line when the day of the month (\(ScheduleError.quoted(domText))) OR the day of the week (\(ScheduleError.quoted(dowText))) matches, but systemd calendar events need both to match; create two schedules instead: \(ScheduleError.quoted("\(m) \(h) \(domText) \(mon) *")) and \(ScheduleError.quoted("\(m) \(h) * \(mon) \(dowText)"))"
            )
        }

        let minute = chain(lists[Field.minute.rawValue], field: .minute)
        let hour = chain(lists[Field.hour.rawValue], field: .hour)
        let day = chain(lists[Field.dayOfMonth.rawValue], field: .dayOfMonth)
        let month = chain(lists[Field.month.rawValue], field: .month)
        let weekdays = weekdayList(lists[Field.dayOfWeek.rawValue])
        let prefix = weekdays.map { $0 + " " } ?? ""
        return "\(prefix)*-\(month)-\(day) \(hour):\(minute):00"
    }

    // MARK: Parsing

    private static func parseField(_ text: String, as field: Field, input: String) throws -> [Item] {
        if text.isEmpty {
            throw ScheduleError(input: input, fragment: text, reason: "a cron field is empty")
        }
        var items: [Item] = []
        for part in text.split(separator: ",", omittingEmptySubsequences: false).map(String.init) {
            items.append(try parseItem(part, field: field, input: input))
        }
        return items
    }

    private static func parseItem(_ text: String, field: Field, input: String) throws -> Item {
        let usage = "a cron field takes *, a number, a list (1,5), a range (1-5) or a step (*/15, 1-30/5)"
        guard !text.isEmpty else {
            throw ScheduleError(input: input, fragment: text, reason: "a cron list has an empty element; \(usage)")
        }
        let pieces = text.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard pieces.count <= 2 else {
            throw ScheduleError(input: input, fragment: text, reason: "\(ScheduleError.quoted(text)) has more than one \"/\"; \(usage)")
        }
        var step: Int?
        if pieces.count == 2 {
            guard let n = SchedulePreset.number(pieces[1], maxDigits: 3), n >= 1 else {
                throw ScheduleError(
                    input: input, fragment: text,
                    reason: "\(ScheduleError.quoted(text)) has a bad step; the number after \"/\" must be 1 or more")
            }
            guard n <= field.range.upperBound else {
                throw ScheduleError(
                    input: input, fragment: text,
                    reason: "\(ScheduleError.quoted(text)) steps by \(n), more than the field allows (\(field.noun))")
            }
            step = n
        }
        let base = pieces[0]
        if base == "*" {
            return Item(start: field.range.lowerBound, stop: field.range.upperBound, step: step, isStar: true)
        }
        let bounds = base.split(separator: "-", omittingEmptySubsequences: false).map(String.init)
        guard bounds.count <= 2 else {
            throw ScheduleError(input: input, fragment: text, reason: "\(ScheduleError.quoted(text)) is not a range; \(usage)")
        }
        let start = try value(bounds[0], field: field, whole: text, input: input)
        var stop: Int?
        if bounds.count == 2 {
            let end = try value(bounds[1], field: field, whole: text, input: input)
            guard end >= start else {
                throw ScheduleError(
                    input: input, fragment: text,
                    reason:
                        "\(ScheduleError.quoted(text)) is a range that ends before it starts; cron ranges do not wrap around, split it into two (e.g. \"5-6,0-1\")"
                )
            }
            stop = end
        } else if step != nil {
            stop = field.range.upperBound  // "a/n" means a-MAX/n
        }
        return Item(start: start, stop: stop, step: step, isStar: false)
    }

    private static func value(_ text: String, field: Field, whole: String, input: String) throws -> Int {
        if let n = SchedulePreset.number(text, maxDigits: 4) {
            guard field.range.contains(n) else {
                throw ScheduleError(input: input, fragment: text, reason: "\(ScheduleError.quoted(text)) is not \(field.noun)")
            }
            return n
        }
        if let index = field.names.firstIndex(of: text.lowercased()) {
            return index + field.firstNameValue
        }
        let upperText = text.uppercased()
        let quartzSuffix = text.count > 1 && (upperText.hasSuffix("L") || upperText.hasSuffix("W")) && Int(text.dropLast()) != nil
        if text == "?" || text.contains("#") || upperText == "L" || upperText == "LW" || quartzSuffix {
            throw ScheduleError(
                input: input, fragment: whole,
                reason:
                    "\(ScheduleError.quoted(whole)) uses Quartz cron syntax (?, L, W, #), which is not supported; use a calendar expression such as \"*-*~01\" for the last day of the month"
            )
        }
        throw ScheduleError(input: input, fragment: text, reason: "\(ScheduleError.quoted(text)) is not \(field.noun)")
    }

    // MARK: Output

    /// The calendar-event list for a numeric field.
    private static func chain(_ items: [Item], field: Field) -> String {
        let upper = field.range.upperBound
        var parts: [String] = []
        for item in items {
            if item.isStar && (item.step ?? 1) == 1 { return "*" }
            let start = item.start
            let stop = item.stop ?? start
            let step = item.step ?? 1
            if stop == start {
                parts.append(String(start))
            } else if start + step > stop {
                parts.append(String(start))
            } else if stop == upper && step > 1 {
                parts.append("\(start)/\(step)")
            } else if step == 1 {
                parts.append("\(start)..\(stop)")
            } else {
                parts.append("\(start)..\(stop)/\(step)")
            }
        }
        return parts.joined(separator: ",")
    }

    /// Weekday names for the day-of-week field, or nil for every day.
    private static func weekdayList(_ items: [Item]) -> String? {
        var days = Set<Int>()  // 0 = Sunday
        for item in items {
            let stop = item.stop ?? item.start
            let step = item.step ?? 1
            var v = item.start
            while v <= stop {
                days.insert(v % 7)
                v += step
            }
        }
        if days.count == 7 { return nil }
        let names = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
        // Monday first, as systemd orders them.
        return [1, 2, 3, 4, 5, 6, 0].filter(days.contains).map { names[$0] }.joined(separator: ",")
    }
}
