import Foundation

/// restic's `forget` policy (restic 0.14 `ApplyPolicy`) as a pure function, so the hub can show
/// which snapshots a retention change would remove before it is saved (docs/operations.md,
/// "Retention preview"). Tested against restic's own `forget` on the same snapshots.
///
/// The rules, as restic applies them to one group (a job's snapshots of one source on one
/// server): snapshots newest first; a snapshot is kept when it is within `keepWithin` of the
/// newest one, or when it opens a new bucket (the last n; an hour, day, ISO week, month, year in
/// the snapshots' time zone) of a rule that still has a count left — each rule counts down only
/// on the snapshots it keeps.
public enum RetentionSimulator {
    public struct Decision: Sendable, Equatable {
        public var keep: Bool
        /// Why it is kept, in restic's words ("daily snapshot", "within 7d"); empty when removed.
        public var reasons: [String]

        public init(keep: Bool, reasons: [String]) {
            self.keep = keep
            self.reasons = reasons
        }
    }

    /// Decisions for `times` (any order), in that order. `timeZone` is where days and hours are
    /// counted (restic uses the server's local time).
    public static func apply(_ policy: RetentionPolicy, to times: [Date], timeZone: TimeZone, now: Date = Date()) -> [Decision] {
        var decisions = Array(repeating: Decision(keep: true, reasons: ["keep all"]), count: times.count)
        let hasRule = policy.counts.contains { $0.value != nil } || policy.keepWithin != nil
        guard !times.isEmpty, !policy.keepAll, hasRule else { return decisions }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        var iso = Calendar(identifier: .iso8601)
        iso.timeZone = timeZone
        // Newest first; a stable order for equal times (restic's sort.Stable keeps its listing's order).
        let order = times.indices.sorted { times[$0] != times[$1] ? times[$0] > times[$1] : $0 < $1 }
        let latest = times.filter { $0 < now }.max() ?? Date.distantPast
        var within: Date?
        if let text = policy.keepWithin, let duration = try? RetentionDuration.parse(text) {
            within = goAddDate(latest, years: -duration.years, months: -duration.months, days: -duration.days, calendar: calendar)
                .addingTimeInterval(TimeInterval(-duration.hours * 3600))
        }
        struct Bucket {
            var count: Int
            var last: Int?
            let reason: String
            let key: (Date, Int) -> Int
        }
        func fields(_ date: Date) -> DateComponents { calendar.dateComponents([.year, .month, .day, .hour], from: date) }
        var buckets: [Bucket] = [
            Bucket(count: policy.keepLast ?? 0, reason: "last snapshot") { _, index in index },
            Bucket(count: policy.keepHourly ?? 0, reason: "hourly snapshot") { date, _ in
                let c = fields(date)
                return c.year! * 1_000_000 + c.month! * 10_000 + c.day! * 100 + c.hour!
            },
            Bucket(count: policy.keepDaily ?? 0, reason: "daily snapshot") { date, _ in
                let c = fields(date)
                return c.year! * 10_000 + c.month! * 100 + c.day!
            },
            Bucket(count: policy.keepWeekly ?? 0, reason: "weekly snapshot") { date, _ in
                let c = iso.dateComponents([.yearForWeekOfYear, .weekOfYear], from: date)
                return c.yearForWeekOfYear! * 100 + c.weekOfYear!
            },
            Bucket(count: policy.keepMonthly ?? 0, reason: "monthly snapshot") { date, _ in
                let c = fields(date)
                return c.year! * 100 + c.month!
            },
            Bucket(count: policy.keepYearly ?? 0, reason: "yearly snapshot") { date, _ in fields(date).year! },
        ]
        for (position, index) in order.enumerated() {
            let time = times[index]
            var reasons: [String] = []
            if let within, time > within, let text = policy.keepWithin { reasons.append("within \(text)") }
            for b in buckets.indices where buckets[b].count > 0 {
                let value = buckets[b].key(time, position)
                if value != buckets[b].last {
                    buckets[b].last = value
                    buckets[b].count -= 1
                    reasons.append(buckets[b].reason)
                }
            }
            decisions[index] = Decision(keep: !reasons.isEmpty, reasons: reasons)
        }
        return decisions
    }

    /// Go's `time.AddDate`: the fields are added and the result normalized (March 31 minus one
    /// month is March 3, not February 28), keeping the clock time.
    static func goAddDate(_ date: Date, years: Int, months: Int, days: Int, calendar: Calendar) -> Date {
        var c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second, .nanosecond], from: date)
        var month = (c.month ?? 1) - 1 + months
        let year = (c.year ?? 1970) + years + Int((Double(month) / 12).rounded(.down))
        month = ((month % 12) + 12) % 12
        c.year = year
        c.month = month + 1
        let day = (c.day ?? 1) + days
        c.day = 1
        guard let first = calendar.date(from: c) else { return date }
        return calendar.date(byAdding: .day, value: day - 1, to: first) ?? date
    }
}
