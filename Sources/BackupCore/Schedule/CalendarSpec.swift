import Foundation

extension CalendarSpec {
    /// One element of a comma separated list in a calendar event field, in the systemd.time(7)
    /// sense: `start`, `start..stop`, `start/repeat` or `start..stop/repeat`.
    ///
    /// Seconds are kept in microseconds (systemd accepts fractional seconds), every other
    /// field in its natural unit.
    struct Component: Hashable, Sendable, Comparable {
        var start: Int
        /// End of a range, or -1 when the component is not a range.
        var stop: Int = -1
        /// Repetition step, or 0 when the value does not repeat.
        var repeatStep: Int = 0

        static func < (a: Component, b: Component) -> Bool {
            (a.start, a.stop, a.repeatStep) < (b.start, b.stop, b.repeatStep)
        }
    }
}

extension CalendarSpec {
    /// The fields of a calendar event expression.
    enum Field: Sendable, CaseIterable {
        case year, month, day, hour, minute, second

        /// What the field is called in messages.
        var noun: String {
            switch self {
            case .year: "a year"
            case .month: "a month"
            case .day: "a day of the month"
            case .hour: "an hour"
            case .minute: "a minute"
            case .second: "a second"
            }
        }

        var plural: String {
            switch self {
            case .year: "years"
            case .month: "months"
            case .day: "days of the month"
            case .hour: "hours"
            case .minute: "minutes"
            case .second: "seconds"
            }
        }

        /// Valid values (seconds in microseconds).
        var bounds: ClosedRange<Int> {
            switch self {
            case .year: CalendarSpec.minYear...CalendarSpec.maxYear
            case .month: 1...12
            case .day: 1...31
            case .hour: 0...23
            case .minute: 0...59
            case .second: 0...(60 * CalendarSpec.microsecondsPerSecond - 1)
            }
        }

        /// The valid values as shown to people.
        var boundsText: String {
            switch self {
            case .second: "0–59"
            default: "\(bounds.lowerBound)–\(bounds.upperBound)"
            }
        }
    }
}

/// A parsed and normalized systemd calendar event (`OnCalendar=` value) without its time
/// zone. Mirrors systemd's own model so that normalization and next-elapse computation give
/// exactly the same answers as `systemd-analyze calendar`.
struct CalendarSpec: Hashable, Sendable {
    static let microsecondsPerSecond = 1_000_000
    static let minYear = 1970
    static let maxYear = 2199
    static let allWeekdayBits = 127

    /// Bit 0 = Monday … bit 6 = Sunday; -1 means any day of the week.
    var weekdayBits: Int = -1
    /// Each list empty means `*` (any value).
    var year: [Component] = []
    var month: [Component] = []
    var day: [Component] = []
    /// `~` in the date: the day values count backwards from the end of the month.
    var endOfMonth = false
    var hour: [Component] = []
    var minute: [Component] = []
    /// Seconds, in microseconds.
    var second: [Component] = []
    /// Set by the `@EPOCH` form: the expression denotes an absolute UTC instant.
    var isAbsoluteUTC = false

    func components(of field: Field) -> [Component] {
        switch field {
        case .year: year
        case .month: month
        case .day: day
        case .hour: hour
        case .minute: minute
        case .second: second
        }
    }

    mutating func setComponents(_ list: [Component], of field: Field) {
        switch field {
        case .year: year = list
        case .month: month = list
        case .day: day = list
        case .hour: hour = list
        case .minute: minute = list
        case .second: second = list
        }
    }
}

// MARK: - Normalization

extension CalendarSpec.Component {
    /// systemd's per-element normalization: a range is shortened to a whole number of
    /// repetitions, and a repetition that can never fire twice (or a range `a..a`) becomes a
    /// plain value.
    func normalized() -> Self {
        var c = self
        if c.stop > c.start && c.repeatStep > 0 {
            c.stop -= (c.stop - c.start) % c.repeatStep
        }
        if (c.stop > c.start && c.repeatStep > 0 && c.start + c.repeatStep > c.stop) || c.start == c.stop {
            c.repeatStep = 0
            c.stop = -1
        }
        return c
    }

    /// Two digit years: 0…69 mean 2000…2069, 70…99 mean 1970…1999.
    func withFullYears() -> Self {
        func fix(_ v: Int) -> Int {
            if v >= 0 && v < 70 { return v + 2000 }
            if v >= 70 && v < 100 { return v + 1900 }
            return v
        }
        var c = self
        c.start = fix(c.start)
        c.stop = fix(c.stop)
        return c
    }
}

extension CalendarSpec {
    /// Sorts and de-duplicates a component list (after per-element normalization).
    static func normalizedList(_ list: [Component]) -> [Component] {
        var result: [Component] = []
        for c in list.sorted() where result.last != c {
            result.append(c)
        }
        return result
    }

    /// Why a (normalized) component is not acceptable for a field, or nil when it is fine.
    /// Same rules as systemd's validity check.
    static func problem(with c: Component, field: Field, endOfMonth: Bool) -> ComponentProblem? {
        let from = field.bounds.lowerBound
        var to = field.bounds.upperBound
        let fromEnd = endOfMonth && field == .day
        if fromEnd { to -= 3 }
        if c.start < from || c.start > to { return .startOutOfRange(from: from, to: to) }
        if c.repeatStep > to - from { return .repeatTooLarge(maximum: to - from) }
        if c.stop >= 0 {
            if c.stop < from || c.stop > to { return .stopOutOfRange(from: from, to: to) }
            if c.start + c.repeatStep > c.stop { return .reversedRange }
        } else if fromEnd {
            if c.start - c.repeatStep < from { return .repeatBeyondBounds }
        } else if c.start + c.repeatStep > to {
            return .repeatBeyondBounds
        }
        return nil
    }

    enum ComponentProblem: Equatable {
        case startOutOfRange(from: Int, to: Int)
        case stopOutOfRange(from: Int, to: Int)
        case repeatTooLarge(maximum: Int)
        case reversedRange
        case repeatBeyondBounds
    }
}

// MARK: - Formatting (systemd's normalized form)

extension CalendarSpec {
    private static let weekdayNames = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]

    /// The weekday list as systemd prints it: runs of three or more days become `A..B`,
    /// runs of two are written `A,B`.
    static func formatWeekdays(_ bits: Int) -> String {
        var out = ""
        var runStart = -1
        var needComma = false
        func closeRun(at x: Int) {
            if x > runStart + 1 {
                out += x > runStart + 2 ? ".." : ","
                out += weekdayNames[x - 1]
            }
            runStart = -1
        }
        for x in 0..<7 {
            if bits & (1 << x) != 0 {
                if runStart < 0 {
                    if needComma { out += "," } else { needComma = true }
                    out += weekdayNames[x]
                    runStart = x
                }
            } else if runStart >= 0 {
                closeRun(at: x)
            }
        }
        if runStart >= 0 { closeRun(at: 7) }
        return out
    }

    private static func padded(_ value: Int, width: Int) -> String {
        let digits = String(value)
        return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
    }

    private static func fraction(_ value: Int) -> String {
        "." + padded(value, width: 6)
    }

    /// Formats a component list; `seconds` lists are in microseconds.
    static func formatList(_ list: [Component], width: Int, seconds: Bool) -> String {
        let unit = seconds ? microsecondsPerSecond : 1
        if list.isEmpty { return "*" }
        if seconds && list.contains(where: { $0.start == 0 && $0.stop < 0 && $0.repeatStep == unit }) {
            return "*"
        }
        var parts: [String] = []
        for c in list {
            var s = padded(c.start / unit, width: width)
            if c.start % unit > 0 { s += fraction(c.start % unit) }
            if c.stop > 0 { s += ".." + padded(c.stop / unit, width: width) }
            if c.stop % unit > 0 { s += fraction(c.stop % unit) }
            if c.repeatStep > 0 && !(c.stop > 0 && c.repeatStep == unit) { s += "/" + String(c.repeatStep / unit) }
            if c.repeatStep % unit > 0 { s += fraction(c.repeatStep % unit) }
            parts.append(s)
        }
        return parts.joined(separator: ",")
    }

    /// systemd's normalized form, without a time zone.
    var normalizedString: String {
        var s = ""
        if weekdayBits > 0 && weekdayBits <= Self.allWeekdayBits {
            s += Self.formatWeekdays(weekdayBits) + " "
        }
        s += Self.formatList(year, width: 4, seconds: false)
        s += "-"
        s += Self.formatList(month, width: 2, seconds: false)
        s += endOfMonth ? "~" : "-"
        s += Self.formatList(day, width: 2, seconds: false)
        s += " "
        s += Self.formatList(hour, width: 2, seconds: false)
        s += ":"
        s += Self.formatList(minute, width: 2, seconds: false)
        s += ":"
        s += Self.formatList(second, width: 2, seconds: true)
        return s
    }
}
