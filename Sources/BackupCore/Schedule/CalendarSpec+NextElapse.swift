import Foundation

/// Next-elapse computation with systemd's semantics: `calendar_spec_next_usec` of systemd 252
/// as shipped by Debian 12 (252.38, which includes the upstream fix for time zones with a
/// negative DST offset). The algorithm is re-implemented from its documented behaviour and
/// checked against `systemd-analyze calendar` by the oracle tests.
///
/// The search walks the wall clock of the schedule's zone field by field — year, month, day,
/// weekday, hour, minute, second — jumping straight to the next matching value of each field
/// and restarting from the next larger unit when a field has no match left. A handful of
/// steps finds an elapse, whatever the pattern (never second by second).
///
/// Around DST changes this gives systemd's behaviour, which the oracle tests pin down:
/// * wall-clock times that do not exist (the hour skipped in spring) never elapse: a daily
///   02:30 in Europe/Berlin does not run on the spring-forward day at all; patterns that
///   also match later in that day (e.g. `*:30`) continue after the gap;
/// * wall-clock times that exist twice (the hour repeated in autumn) elapse once, at the
///   first occurrence; the search then continues after the repeated hour. Only when the
///   start time itself lies in the second occurrence are times in that second occurrence
///   found;
/// * like systemd, the search gives up after 1000 steps; this happens in rare zones whose
///   gap is not a whole hour (Pacific/Chatham, 02:45 → 03:45), where then no elapse is
///   returned for patterns hitting the gap.
extension CalendarSpec {
    /// Latest start time systemd accepts (9999-12-30 23:59:59.999999 UTC), in microseconds.
    static let latestStartMicroseconds: Int64 = 253_402_214_399_999_999
    /// systemd gives up after this many search steps (its guard against endless loops).
    static let maximumSearchSteps = 1000

    /// The first elapse strictly after `microseconds` (since 1970, UTC), in microseconds, or
    /// nil when the expression never elapses again (or before year 2200).
    func nextElapse(afterMicroseconds microseconds: Int64, clock base: WallClock) -> Int64? {
        guard microseconds <= Self.latestStartMicroseconds else { return nil }
        var clock = base
        let start = max(microseconds, -1) + 1
        let seconds = start / 1_000_000
        var tm = clock.localTime(seconds)
        var usec = Int(start % 1_000_000)
        guard findNext(&tm, &usec, clock: &clock) else { return nil }
        let instant = clock.makeTime(&tm)
        return instant * 1_000_000 + Int64(usec)
    }

    // MARK: Matching one field

    /// The earliest value ≥ `value` that a field list allows: -1 when none, 0 when `value`
    /// itself matches, 1 when `value` was moved forward.
    private func match(
        _ list: [Component], isDay: Bool, in tm: BrokenDownTime,
        value: inout Int, clock: inout WallClock
    ) -> Int {
        if list.isEmpty { return 0 }
        let fromEnd = endOfMonth && isDay
        var best: Int?
        for c in list {
            var start = c.start
            var stop = c.stop
            if fromEnd {
                start = dayFromEnd(c.start, of: tm, clock: &clock)
                stop = dayFromEnd(c.stop, of: tm, clock: &clock)
                if stop > 0 { swap(&start, &stop) }
            }
            if start >= value {
                if best == nil || start < best! { best = start }
            } else if c.repeatStep > 0 {
                let steps = (value - start + c.repeatStep - 1) / c.repeatStep
                let k = start + c.repeatStep * steps
                if (best == nil || k < best!) && (stop < 0 || k <= stop) { best = k }
            }
        }
        guard let best else { return -1 }
        let changed = value != best ? 1 : 0
        value = best
        return changed
    }

    /// The day of the month that is the `n`th last of `tm`'s month (1 = last day), or -1.
    private func dayFromEnd(_ n: Int, of tm: BrokenDownTime, clock: inout WallClock) -> Int {
        var t = tm
        t.month += 1
        t.day = 1 - n
        _ = clock.makeTime(&t)
        return t.month == tm.month ? t.day : -1
    }

    private func matchesWeekday(_ tm: BrokenDownTime, clock: inout WallClock) -> Bool {
        if weekdayBits < 0 || weekdayBits >= Self.allWeekdayBits { return true }
        var t = tm
        _ = clock.makeTime(&t)
        let k = t.weekday == 0 ? 6 : t.weekday - 1
        return weekdayBits & (1 << k) != 0
    }

    /// Normalizes a copy of `tm`: 1 when nothing changed, 0 when normalization moved the time
    /// forward (then `tm` becomes the normalized time with the next smaller unit reset), -1
    /// when it is past year 2199 or would move backwards.
    private func withinBounds(_ tm: inout BrokenDownTime, clock: inout WallClock) -> Int {
        if tm.year > Self.maxYear { return -1 }
        var t = tm
        _ = clock.makeTime(&t)
        let order: Int
        if t.year != tm.year {
            order = t.year < tm.year ? -1 : 1
            t.month = 0
            t.day = 1
        } else if t.month != tm.month {
            order = t.month < tm.month ? -1 : 1
            t.day = 1
        } else if t.day != tm.day {
            order = t.day < tm.day ? -1 : 1
            t.hour = 0
        } else if t.hour != tm.hour {
            order = t.hour < tm.hour ? -1 : 1
            t.minute = 0
        } else if t.minute != tm.minute {
            order = t.minute < tm.minute ? -1 : 1
            t.second = 0
        } else {
            order = t.second == tm.second ? 0 : (t.second < tm.second ? -1 : 1)
        }
        if order < 0 { return -1 }
        if order > 0 {
            tm = t
            return 0
        }
        return 1
    }

    private static func compareFields(_ a: BrokenDownTime, _ b: BrokenDownTime) -> Int {
        let lhs = (a.year, a.month, a.day, a.hour, a.minute, a.second)
        let rhs = (b.year, b.month, b.day, b.hour, b.minute, b.second)
        return lhs == rhs ? 0 : (lhs < rhs ? -1 : 1)
    }

    // MARK: The search

    private func findNext(_ result: inout BrokenDownTime, _ resultUsec: inout Int, clock: inout WallClock) -> Bool {
        let start = result
        let startUsec = resultUsec
        var c = result
        var usec = resultUsec
        // Set once the search got stuck behind the start (time zones whose DST offset is
        // negative, like Europe/Dublin): from then on the DST flag found by the conversion is
        // kept instead of being re-guessed, as systemd does.
        var keepDSTFlag = false
        for _ in 0..<Self.maximumSearchSteps {
            _ = clock.makeTime(&c)
            if !keepDSTFlag { c.dst = nil }

            var r = match(year, isDay: false, in: c, value: &c.year, clock: &clock)
            if r > 0 {
                c.month = 0
                c.day = 1
                c.hour = 0
                c.minute = 0
                c.second = 0
                usec = 0
            }
            if r < 0 { return false }
            if withinBounds(&c, clock: &clock) <= 0 { return false }

            c.month += 1
            r = match(month, isDay: false, in: c, value: &c.month, clock: &clock)
            c.month -= 1
            if r > 0 {
                c.day = 1
                c.hour = 0
                c.minute = 0
                c.second = 0
                usec = 0
            }
            if r >= 0 { r = withinBounds(&c, clock: &clock) }
            if r < 0 {
                c.year += 1
                c.month = 0
                c.day = 1
                c.hour = 0
                c.minute = 0
                c.second = 0
                usec = 0
                continue
            }
            if r == 0 { continue }

            r = match(day, isDay: true, in: c, value: &c.day, clock: &clock)
            if r > 0 {
                c.hour = 0
                c.minute = 0
                c.second = 0
                usec = 0
            }
            if r >= 0 { r = withinBounds(&c, clock: &clock) }
            if r < 0 {
                c.month += 1
                c.day = 1
                c.hour = 0
                c.minute = 0
                c.second = 0
                usec = 0
                continue
            }
            if r == 0 { continue }

            if !matchesWeekday(c, clock: &clock) {
                c.day += 1
                c.hour = 0
                c.minute = 0
                c.second = 0
                usec = 0
                continue
            }

            r = match(hour, isDay: false, in: c, value: &c.hour, clock: &clock)
            if r > 0 {
                c.minute = 0
                c.second = 0
                usec = 0
            }
            if r >= 0 { r = withinBounds(&c, clock: &clock) }
            if r < 0 {
                c.day += 1
                c.hour = 0
                c.minute = 0
                c.second = 0
                usec = 0
                continue
            }
            // The hour may not exist on this day (DST): start again from the normalized time.
            if r == 0 { continue }

            r = match(minute, isDay: false, in: c, value: &c.minute, clock: &clock)
            if r > 0 {
                c.second = 0
                usec = 0
            }
            if r >= 0 { r = withinBounds(&c, clock: &clock) }
            if r < 0 {
                c.hour += 1
                c.minute = 0
                c.second = 0
                usec = 0
                continue
            }
            if r == 0 { continue }

            var micro = c.second * Self.microsecondsPerSecond + usec
            r = match(second, isDay: false, in: c, value: &micro, clock: &clock)
            usec = micro % Self.microsecondsPerSecond
            c.second = micro / Self.microsecondsPerSecond
            if r >= 0 { r = withinBounds(&c, clock: &clock) }
            if r < 0 {
                c.minute += 1
                c.second = 0
                usec = 0
                continue
            }
            if r == 0 { continue }

            // Found a time before the start (the wall clock went backwards)? Advance an hour
            // and let the conversion pick the DST state.
            var order = Self.compareFields(start, c)
            if order == 0 { order = startUsec >= usec + 1 ? 1 : -1 }
            if order >= 0 {
                keepDSTFlag = true
                c.hour += 1
                continue
            }

            result = c
            resultUsec = usec
            return true
        }
        return false
    }
}
