import Foundation

/// Parser for the systemd.time(7) calendar event grammar (without the time zone suffix,
/// which `Schedule.parse` strips beforehand):
///
///     [WEEKDAYS] [DATE] [TIME]
///     WEEKDAYS  = day names (Mon or Monday, any case), joined by "," and ".." (or "-")
///     DATE      = [YEAR-]MONTH-DAY, or with "~" before DAY: days counted from the month's end
///     TIME      = HOUR:MINUTE[:SECOND]
///
/// and the shorthands `minutely`, `hourly`, `daily`, `weekly`, `monthly`, `quarterly`,
/// `semiannually` (`semi-annually`, `biannually`, `bi-annually`), `yearly` (`annually`,
/// `anually`) and `@EPOCH` (seconds since 1970, UTC). Each field is `*` or a comma separated
/// list of `N`, `A..B`, `N/STEP` and `A..B/STEP`; seconds may carry up to six decimals.
/// A missing date means every day, a missing time means 00:00:00 and missing seconds mean
/// :00. Acceptance follows systemd 252 exactly (for instance `*/5` is *not* accepted, and
/// `50/15` in the minutes is rejected because it never repeats within the hour).
struct CalendarSpecParser {
    private let bytes: [UInt8]
    /// What the user typed, for error messages.
    private let input: String
    private var pos = 0
    private var spec = CalendarSpec()
    /// Components with the text they came from, per field, for error messages.
    private var parsed: [CalendarSpec.Field: [(component: CalendarSpec.Component, span: Range<Int>)]] = [:]

    private static let space = UInt8(ascii: " ")
    private static let comma = UInt8(ascii: ",")
    private static let dot = UInt8(ascii: ".")
    private static let dash = UInt8(ascii: "-")
    private static let tilde = UInt8(ascii: "~")
    private static let colon = UInt8(ascii: ":")
    private static let slash = UInt8(ascii: "/")
    private static let star = UInt8(ascii: "*")
    private static let at = UInt8(ascii: "@")

    private init(expression: String, input: String) {
        self.bytes = Array(expression.utf8)
        self.input = input
    }

    /// Parses and normalizes `expression`; errors name `input` (the whole user input).
    static func parse(_ expression: String, input: String) throws -> CalendarSpec {
        var parser = CalendarSpecParser(expression: expression, input: input)
        return try parser.run()
    }

    // MARK: Top level

    private mutating func run() throws -> CalendarSpec {
        if bytes.isEmpty {
            throw ScheduleError(
                input: input, fragment: "",
                reason:
                    "the schedule is empty; use a preset such as \"daily\", a cron line such as \"30 2 * * *\" or a calendar expression such as \"*-*-* 02:30\""
            )
        }
        if let shorthand = Self.shorthand(String(decoding: bytes, as: UTF8.self).lowercased()) {
            spec = shorthand
            return spec
        }
        try parseWeekdays()
        let dateWasAbsolute = try parseDate()
        if !dateWasAbsolute {
            try parseTime()
        }
        if pos < bytes.count {
            let rest = text(pos..<bytes.count)
            throw ScheduleError(
                input: input, fragment: rest,
                reason: "\(ScheduleError.quoted(rest)) is left over; a calendar expression is [weekdays] [date] [time], e.g. \"Mon..Fri *-*-* 02:30\""
            )
        }
        return try normalizeAndValidate()
    }

    static func shorthand(_ word: String) -> CalendarSpec? {
        var c = CalendarSpec()
        let zero = [CalendarSpec.Component(start: 0)]
        switch word {
        case "minutely":
            c.second = zero
        case "hourly":
            c.minute = zero
            c.second = zero
        case "daily":
            c.hour = zero
            c.minute = zero
            c.second = zero
        case "monthly":
            c.day = [CalendarSpec.Component(start: 1)]
            c.hour = zero
            c.minute = zero
            c.second = zero
        case "annually", "yearly", "anually":
            c.month = [CalendarSpec.Component(start: 1)]
            c.day = [CalendarSpec.Component(start: 1)]
            c.hour = zero
            c.minute = zero
            c.second = zero
        case "weekly":
            c.weekdayBits = 1
            c.hour = zero
            c.minute = zero
            c.second = zero
        case "quarterly":
            c.month = [1, 4, 7, 10].map { CalendarSpec.Component(start: $0) }
            c.day = [CalendarSpec.Component(start: 1)]
            c.hour = zero
            c.minute = zero
            c.second = zero
        case "biannually", "bi-annually", "semiannually", "semi-annually":
            c.month = [1, 7].map { CalendarSpec.Component(start: $0) }
            c.day = [CalendarSpec.Component(start: 1)]
            c.hour = zero
            c.minute = zero
            c.second = zero
        default:
            return nil
        }
        return c
    }

    // MARK: Helpers

    private func byte(_ i: Int) -> UInt8? { i < bytes.count ? bytes[i] : nil }
    private var current: UInt8? { byte(pos) }
    private var atEnd: Bool { pos >= bytes.count }

    private func text(_ range: Range<Int>) -> String {
        let lower = max(0, min(range.lowerBound, bytes.count))
        let upper = max(lower, min(range.upperBound, bytes.count))
        return String(decoding: bytes[lower..<upper], as: UTF8.self)
    }

    private static func isDigit(_ b: UInt8?) -> Bool {
        guard let b else { return false }
        return b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9")
    }

    private static func isLetter(_ b: UInt8) -> Bool {
        (b >= UInt8(ascii: "a") && b <= UInt8(ascii: "z")) || (b >= UInt8(ascii: "A") && b <= UInt8(ascii: "Z"))
    }

    private mutating func skipSpaces() {
        while current == Self.space { pos += 1 }
    }

    /// The end of the "word" starting at `start`: up to the next space, comma or field separator.
    private func wordEnd(from start: Int, separators: Set<UInt8>) -> Int {
        var i = start
        while i < bytes.count && !separators.contains(bytes[i]) { i += 1 }
        return i
    }

    private func error(_ range: Range<Int>, _ reason: (String) -> String) -> ScheduleError {
        let fragment = text(range)
        return ScheduleError(input: input, fragment: fragment, reason: reason(ScheduleError.quoted(fragment)))
    }

    // MARK: Weekdays

    /// Full names before abbreviations, as in systemd (the first prefix match decides).
    private static let dayNames: [(name: [UInt8], number: Int)] = [
        ("monday", 0), ("mon", 0), ("tuesday", 1), ("tue", 1), ("wednesday", 2), ("wed", 2),
        ("thursday", 3), ("thu", 3), ("friday", 4), ("fri", 4), ("saturday", 5), ("sat", 5),
        ("sunday", 6), ("sun", 6),
    ].map { (Array($0.0.utf8), $0.1) }

    private func weekday(at i: Int) -> (number: Int, length: Int)? {
        for entry in Self.dayNames {
            let name = entry.name
            guard i + name.count <= bytes.count else { continue }
            var matches = true
            for k in 0..<name.count where Self.lower(bytes[i + k]) != name[k] {
                matches = false
                break
            }
            if matches { return (entry.number, name.count) }
        }
        return nil
    }

    private static func lower(_ b: UInt8) -> UInt8 {
        (b >= UInt8(ascii: "A") && b <= UInt8(ascii: "Z")) ? b + 32 : b
    }

    private mutating func parseWeekdays() throws {
        var rangeStart = -1
        var rangeStartPos = 0
        var first = true
        while true {
            let namePos = pos
            guard let (number, length) = weekday(at: pos) else {
                if first { return }
                let end = wordEnd(from: pos, separators: [Self.space, Self.comma, Self.dot, Self.dash])
                throw error(pos..<max(end, pos + 1)) {
                    "\($0) is not a weekday; use Mon, Tue, Wed, Thu, Fri, Sat, Sun (or the full names), joined with \",\" or \"..\""
                }
            }
            let next = byte(pos + length)
            if let next, ![Self.dash, Self.dot, Self.comma, Self.space].contains(next) {
                let end = wordEnd(from: pos, separators: [Self.space, Self.comma, Self.dot, Self.dash, Self.colon])
                throw error(pos..<max(end, pos + length + 1)) {
                    "\($0) is not a weekday; use Mon, Tue, Wed, Thu, Fri, Sat, Sun (or the full names)"
                }
            }
            spec.weekdayBits = max(spec.weekdayBits, 0) | (1 << number)
            if rangeStart >= 0 {
                if rangeStart > number {
                    throw error(rangeStartPos..<(pos + length)) {
                        "\($0) runs backwards; weekday ranges go from Monday towards Sunday (write e.g. \"Fri..Sun,Mon\")"
                    }
                }
                for j in (rangeStart + 1)..<max(rangeStart + 1, number) { spec.weekdayBits |= 1 << j }
            }
            pos += length
            if atEnd { return }
            if current == Self.space {
                skipSpaces()
                return
            }
            if current == Self.dot {
                if rangeStart >= 0 || byte(pos + 1) != Self.dot {
                    let end = wordEnd(from: pos, separators: [Self.space, Self.comma])
                    throw error(namePos..<end) {
                        "\($0) is not a weekday range; write ranges as \"Mon..Fri\" and lists as \"Mon,Wed\""
                    }
                }
                rangeStart = number
                rangeStartPos = namePos
                pos += 2
            } else if current == Self.dash {
                if rangeStart >= 0 {
                    let end = wordEnd(from: pos, separators: [Self.space, Self.comma])
                    throw error(namePos..<end) {
                        "\($0) is not a weekday range; write ranges as \"Mon..Fri\" and lists as \"Mon,Wed\""
                    }
                }
                rangeStart = number
                rangeStartPos = namePos
                pos += 1
            } else if current == Self.comma {
                rangeStart = -1
                pos += 1
            }
            if atEnd || current == Self.space {
                if rangeStart >= 0 {
                    throw error(rangeStartPos..<pos) {
                        "\($0) is an open weekday range; name the last day too, e.g. \"Mon..Fri\""
                    }
                }
                skipSpaces()
                return
            }
            first = false
        }
    }

    // MARK: Numbers and component lists

    /// Reads a decimal number; for seconds also an optional fraction (rounded to 6 places
    /// the way systemd does) and returns microseconds.
    private mutating func decimal(seconds: Bool, componentStart: Int) throws -> Int {
        guard Self.isDigit(current) else {
            throw componentSyntaxError(componentStart: componentStart)
        }
        let numberStart = pos
        var value = 0
        while Self.isDigit(current) {
            let (m, o1) = value.multipliedReportingOverflow(by: 10)
            let (s, o2) = m.addingReportingOverflow(Int(current! - UInt8(ascii: "0")))
            if o1 || o2 || s > Int(Int32.max) {
                let end = wordEnd(from: numberStart, separators: [Self.space, Self.comma, Self.colon, Self.dash, Self.tilde, Self.dot, Self.slash])
                throw error(numberStart..<end) { "\($0) is far too large" }
            }
            value = s
            pos += 1
        }
        guard seconds else { return value }
        let (micro, overflow) = value.multipliedReportingOverflow(by: CalendarSpec.microsecondsPerSecond)
        if overflow || micro > Int(Int32.max) {
            throw error(numberStart..<pos) { "\($0) is not a second (0–59)" }
        }
        value = micro
        // One "." is a decimal point, ".." is a range separator.
        if current == Self.dot && byte(pos + 1) != Self.dot {
            pos += 1
            guard Self.isDigit(current) else {
                throw error(numberStart..<pos) { "\($0) needs digits after the decimal point" }
            }
            var fraction = 0
            var digits = 0
            while digits < 6 {
                guard Self.isDigit(current) else {
                    while digits < 6 {
                        fraction *= 10
                        digits += 1
                    }
                    break
                }
                fraction = fraction * 10 + Int(current! - UInt8(ascii: "0"))
                digits += 1
                pos += 1
            }
            if let b = current, b >= UInt8(ascii: "5") && b <= UInt8(ascii: "9") {
                fraction += 1
            }
            while Self.isDigit(current) { pos += 1 }
            value += fraction
            if value > Int(Int32.max) {
                throw error(numberStart..<pos) { "\($0) is not a second (0–59)" }
            }
        }
        return value
    }

    private func componentSyntaxError(componentStart: Int) -> ScheduleError {
        let separators: Set<UInt8> = [Self.space, Self.comma, Self.colon, Self.dash, Self.tilde]
        let end = wordEnd(from: pos, separators: separators)
        if end == pos {
            // Nothing usable where a value belongs, e.g. "12:", "*-*-" or "1..:00".
            if componentStart < pos {
                return error(componentStart..<pos) {
                    "\($0) is incomplete; a range is written 1..5 and a repetition 0/15"
                }
            }
            let fragment = text(0..<bytes.count)
            return ScheduleError(
                input: input, fragment: fragment,
                reason: "\(ScheduleError.quoted(fragment)) is missing a value; each field takes \"*\" or numbers, e.g. \"*-*-* 02:30\"")
        }
        let range = componentStart..<end
        let word = text(range)
        if word.utf8.first.map(Self.isLetter) == true && componentStart == pos {
            return error(range) {
                "\($0) is not a weekday, date or time; expected e.g. \"Mon..Fri\", \"*-*-01\", \"02:30\" or a preset such as \"daily\""
            }
        }
        if word.hasPrefix("*") {
            return error(range) {
                "\($0) is not valid here; \"*\" stands alone (systemd has no \"*/N\": write \"0/N\" for every N from 0, e.g. \"*:0/15\")"
            }
        }
        return error(range) {
            "\($0) is not a valid value; a field takes \"*\", a number, a list (1,3), a range (1..5) or a repetition (0/15 or 1..5/2)"
        }
    }

    /// One list element: N, A..B, N/S or A..B/S.
    private mutating func component(seconds: Bool) throws -> (CalendarSpec.Component, Range<Int>) {
        let begin = pos
        let unit = seconds ? CalendarSpec.microsecondsPerSecond : 1
        let start = try decimal(seconds: seconds, componentStart: begin)
        var stop = -1
        var repeatStep = 0
        if current == Self.dot && byte(pos + 1) == Self.dot {
            pos += 2
            stop = try decimal(seconds: seconds, componentStart: begin)
            repeatStep = unit
        }
        if current == Self.slash {
            pos += 1
            repeatStep = try decimal(seconds: seconds, componentStart: begin)
            if repeatStep == 0 {
                throw error(begin..<pos) { "\($0) repeats every 0; the step after \"/\" must be at least 1" }
            }
        } else {
            if start > Int(Int32.max) - repeatStep {
                throw error(begin..<pos) { "\($0) is far too large" }
            }
            if seconds && stop >= 0 && start + repeatStep > stop {
                throw error(begin..<pos) {
                    "\($0) is not a valid seconds range; a range of seconds must span at least one second (write the smaller value first)"
                }
            }
        }
        if let b = current, ![Self.space, Self.comma, Self.dash, Self.tilde, Self.colon].contains(b) {
            throw componentSyntaxError(componentStart: begin)
        }
        return (CalendarSpec.Component(start: start, stop: stop, repeatStep: repeatStep), begin..<pos)
    }

    /// A field: `*` or a comma separated list. Returns nil for `*` (except for seconds,
    /// where `*` is the repetition 0/1 as in systemd).
    private mutating func chain(seconds: Bool) throws -> [(component: CalendarSpec.Component, span: Range<Int>)]? {
        if current == Self.star {
            let begin = pos
            pos += 1
            if seconds {
                return [(CalendarSpec.Component(start: 0, stop: -1, repeatStep: CalendarSpec.microsecondsPerSecond), begin..<pos)]
            }
            return nil
        }
        var list: [(component: CalendarSpec.Component, span: Range<Int>)] = []
        while true {
            if list.count >= 240 {
                throw error(pos..<bytes.count) { "\($0): a field may list at most 240 values" }
            }
            list.append(try component(seconds: seconds))
            guard current == Self.comma else { break }
            pos += 1
        }
        return list
    }

    // MARK: Date

    /// Returns true when the date was the absolute `@EPOCH` form (no time follows).
    private mutating func parseDate() throws -> Bool {
        if atEnd { return false }
        if current == Self.at {
            let begin = pos
            pos += 1
            let digitsStart = pos
            while Self.isDigit(current) { pos += 1 }
            guard pos > digitsStart, atEnd, pos - digitsStart <= 12, let seconds = Int(text(digitsStart..<pos)) else {
                throw error(begin..<bytes.count) {
                    "\($0) is not a timestamp; \"@\" must be followed by seconds since 1970-01-01 UTC, e.g. \"@1767225600\""
                }
            }
            let t = CalendarSpec.BrokenDownTime(localSeconds: Int64(seconds))
            spec.year = [CalendarSpec.Component(start: t.year)]
            spec.month = [CalendarSpec.Component(start: t.month + 1)]
            spec.day = [CalendarSpec.Component(start: t.day)]
            spec.hour = [CalendarSpec.Component(start: t.hour)]
            spec.minute = [CalendarSpec.Component(start: t.minute)]
            spec.second = [CalendarSpec.Component(start: t.second * CalendarSpec.microsecondsPerSecond)]
            spec.isAbsoluteUTC = true
            parsed[.year] = [(spec.year[0], begin..<pos)]
            return true
        }
        let savedPos = pos
        let first = try chain(seconds: false)
        // The end, or a ":" — then this was a time, not a date.
        if atEnd || current == Self.colon {
            pos = savedPos
            return false
        }
        if current == Self.tilde {
            spec.endOfMonth = true
        } else if current != Self.dash {
            throw dateSyntaxError(from: savedPos, at: pos)
        }
        pos += 1
        let second = try chain(seconds: false)
        if atEnd || current == Self.space {
            skipSpaces()
            parsed[.month] = first
            parsed[.day] = second
            return false
        } else if spec.endOfMonth {
            throw error(savedPos..<wordEnd(from: savedPos, separators: [Self.space])) {
                "\($0) puts \"~\" between year and month; \"~\" goes before the day, e.g. \"*-02~01\" for the last day of February"
            }
        }
        if current == Self.tilde {
            spec.endOfMonth = true
        } else if current != Self.dash {
            throw dateSyntaxError(from: savedPos, at: pos)
        }
        pos += 1
        let third = try chain(seconds: false)
        if !atEnd && current != Self.space {
            throw dateSyntaxError(from: savedPos, at: pos)
        }
        skipSpaces()
        parsed[.year] = first
        parsed[.month] = second
        parsed[.day] = third
        return false
    }

    private func dateSyntaxError(from start: Int, at failure: Int) -> ScheduleError {
        let end = wordEnd(from: start, separators: [Self.space])
        let word = text(start..<end)
        if failure < bytes.count && bytes[failure] == Self.slash && failure > 0 && bytes[failure - 1] == Self.star {
            if word.contains(":") {
                return error(start..<end) {
                    "\($0) uses \"*/N\", which systemd does not accept; write \"0/N\" instead, e.g. \"0/6:00\" for every 6 hours or \"*:0/15\" for every 15 minutes"
                }
            }
            return error(start..<end) {
                "\($0) uses \"*/N\", which systemd does not accept; write \"1/N\" for days or months (e.g. \"*-*-1/2\") and \"0/N\" for hours or minutes"
            }
        }
        if word.contains(":") {
            return error(start..<end) { "\($0) is not a valid date or time; a time is written HH:MM or HH:MM:SS" }
        }
        return error(start..<max(end, start + 1)) {
            "\($0) is not a valid date; write YEAR-MONTH-DAY or MONTH-DAY with numbers, lists, ranges (a..b) or \"*\", e.g. \"*-*-01\""
        }
    }

    // MARK: Time

    private mutating func parseTime() throws {
        let begin = pos
        if atEnd {
            // No time: 00:00:00.
            parsed[.hour] = [(CalendarSpec.Component(start: 0), pos..<pos)]
            parsed[.minute] = [(CalendarSpec.Component(start: 0), pos..<pos)]
            parsed[.second] = [(CalendarSpec.Component(start: 0), pos..<pos)]
            return
        }
        let hour = try chain(seconds: false)
        guard current == Self.colon else {
            throw timeSyntaxError(from: begin)
        }
        pos += 1
        let minute = try chain(seconds: false)
        var second: [(component: CalendarSpec.Component, span: Range<Int>)]? = [(CalendarSpec.Component(start: 0), pos..<pos)]
        if !atEnd {
            guard current == Self.colon else {
                throw timeSyntaxError(from: begin)
            }
            pos += 1
            second = try chain(seconds: true)
            if !atEnd {
                throw timeSyntaxError(from: begin)
            }
        }
        parsed[.hour] = hour
        parsed[.minute] = minute
        parsed[.second] = second
    }

    private func timeSyntaxError(from start: Int) -> ScheduleError {
        let end = wordEnd(from: start, separators: [Self.space])
        let word = text(start..<end)
        if pos < bytes.count && bytes[pos] == Self.slash && pos > 0 && bytes[pos - 1] == Self.star {
            return error(start..<end) {
                "\($0) uses \"*/N\", which systemd does not accept; write \"0/N\" instead, e.g. \"*:0/15\" for every 15 minutes"
            }
        }
        if end < bytes.count {
            let rest = text(end..<bytes.count).trimmingCharacters(in: .whitespaces)
            return ScheduleError(
                input: input, fragment: rest,
                reason:
                    "\(ScheduleError.quoted(rest)) is left over after the time \(ScheduleError.quoted(word)); a calendar expression is [weekdays] [date] [time]"
            )
        }
        if !word.contains(":") {
            return error(start..<end) {
                "\($0) is not a valid date or time; a time is written HH:MM or HH:MM:SS and a date YEAR-MONTH-DAY or MONTH-DAY"
            }
        }
        return error(start..<end) { "\($0) is not a valid time; write HH:MM or HH:MM:SS" }
    }

    // MARK: Normalization and validation

    private mutating func normalizeAndValidate() throws -> CalendarSpec {
        if spec.weekdayBits <= 0 || spec.weekdayBits >= CalendarSpec.allWeekdayBits {
            spec.weekdayBits = -1
        }
        if spec.isAbsoluteUTC {
            if CalendarSpec.problem(with: spec.year[0], field: .year, endOfMonth: false) != nil {
                let span = parsed[.year]?.first?.span ?? 0..<bytes.count
                throw error(span) { "\($0) is outside the years systemd can schedule (1970–2199)" }
            }
            return spec
        }
        if parsed[.day] == nil { spec.endOfMonth = false }
        for field in CalendarSpec.Field.allCases {
            guard let entries = parsed[field] else {
                spec.setComponents([], of: field)
                continue
            }
            var list: [CalendarSpec.Component] = []
            for (raw, span) in entries {
                var c = raw
                if field == .year { c = c.withFullYears() }
                c = c.normalized()
                if let problem = CalendarSpec.problem(with: c, field: field, endOfMonth: spec.endOfMonth) {
                    throw validationError(problem, component: c, field: field, span: span)
                }
                list.append(c)
            }
            spec.setComponents(CalendarSpec.normalizedList(list), of: field)
        }
        return spec
    }

    private func validationError(
        _ problem: CalendarSpec.ComponentProblem, component c: CalendarSpec.Component,
        field: CalendarSpec.Field, span: Range<Int>
    ) -> ScheduleError {
        let fromEnd = spec.endOfMonth && field == .day
        let shown = { (v: Int) -> String in
            field == .second ? Self.secondsText(v) : String(v)
        }
        switch problem {
        case .startOutOfRange, .stopOutOfRange:
            if fromEnd {
                return error(span) {
                    "\($0) is not a day counted from the end of the month; after \"~\" use 1–28 (\"~01\" is the last day)"
                }
            }
            if c.stop < 0 && c.repeatStep == 0 {
                return error(span) { "\($0) is not \(field.noun) (\(field.boundsText))" }
            }
            let bad: Int
            if case .startOutOfRange = problem { bad = c.start } else { bad = c.stop }
            return error(span) { "\($0) goes outside the \(field.plural): \(shown(bad)) is not \(field.noun) (\(field.boundsText))" }
        case .repeatTooLarge:
            return error(span) {
                "\($0) repeats every \(shown(c.repeatStep)), more than the whole range of \(field.plural) (\(field.boundsText))"
            }
        case .reversedRange:
            return error(span) {
                "\($0) is a range that ends before it starts; write the smaller value first (ranges do not wrap around)"
            }
        case .repeatBeyondBounds:
            if fromEnd {
                return error(span) {
                    "\($0) never repeats: counting back from \(shown(c.start)) by \(shown(c.repeatStep)) leaves the month; use a smaller step"
                }
            }
            let last = field.bounds.upperBound
            return error(span) {
                "\($0) never repeats: \(shown(c.start)) + \(shown(c.repeatStep)) is past \(shown(last)); systemd rejects such repetitions, use \(ScheduleError.quoted(shown(c.start))) alone or a smaller start"
            }
        }
    }

    private static func secondsText(_ micro: Int) -> String {
        let whole = micro / CalendarSpec.microsecondsPerSecond
        let frac = micro % CalendarSpec.microsecondsPerSecond
        if frac == 0 { return String(whole) }
        var f = String(frac)
        f = String(repeating: "0", count: 6 - f.count) + f
        while f.hasSuffix("0") { f.removeLast() }
        return "\(whole).\(f)"
    }
}
