import BackupCore
import Foundation

/// A run with the snapshot it produced (the run's fields, flattened).
public struct RunView: Codable, Sendable {
    public let run: Run
    public let snapshot: Snapshot?

    public init(run: Run, snapshot: Snapshot?) {
        self.run = run
        self.snapshot = snapshot
    }

    public init(from decoder: any Decoder) throws {
        run = try Run(from: decoder)
        snapshot = try decoder.container(keyedBy: Keys.self).decodeIfPresent(Snapshot.self, forKey: .snapshot)
    }

    public func encode(to encoder: any Encoder) throws {
        try run.encode(to: encoder)
        var container = encoder.container(keyedBy: Keys.self)
        try container.encodeIfPresent(snapshot, forKey: .snapshot)
    }
    enum Keys: String, CodingKey { case snapshot }
}

/// One page of runs.
public struct RunPage: Codable, Sendable {
    public let runs: [Run]
    public let nextCursor: String?
    /// The names of the jobs and servers the page refers to, by id (for tables people read).
    public let names: [String: String]
    public init(runs: [Run], nextCursor: String?, names: [String: String] = [:]) {
        self.runs = runs
        self.nextCursor = nextCursor
        self.names = names
    }
}

/// One page of snapshots.
public struct SnapshotPage: Codable, Sendable {
    public let snapshots: [Snapshot]
    public let nextCursor: String?
    /// The names of the jobs, servers and destinations the page refers to, by id (for tables people read).
    public let names: [String: String]
    public init(snapshots: [Snapshot], nextCursor: String?, names: [String: String] = [:]) {
        self.snapshots = snapshots
        self.nextCursor = nextCursor
        self.names = names
    }
}

/// `POST /api/v1/schedules/preview`: a schedule to explain.
public struct PreviewRequest: Codable, Sendable {
    public let schedule: String
    public let timeZone: String?
    public let count: Int?
    public let from: Date?
    /// A backup window, `01:00-05:00` (the starts wait for it).
    public let window: String?
    /// A spread, `30m`, applied with the offset of `job` (an existing job's id; without one the
    /// preview uses the offset of the id "new-job").
    public let spread: String?
    public let job: String?
    public init(
        schedule: String, timeZone: String?, count: Int?, from: Date?, window: String? = nil, spread: String? = nil, job: String? = nil
    ) {
        self.window = window
        self.spread = spread
        self.job = job
        self.schedule = schedule
        self.timeZone = timeZone
        self.count = count
        self.from = from
    }
}

/// A schedule as stored, as an `OnCalendar=` line, and its next elapses.
public struct SchedulePreview: Codable, Sendable {
    public let calendar: String
    public let timeZone: String
    public let onCalendar: String
    /// When the next runs start: the elapses, or with a window or spread the shifted starts.
    public let next: [Date]
    /// With a window or spread: the scheduled slot each start serves (same order as `next`).
    public let slots: [Date]?
    /// With a window or spread: how the starts are shifted, in words.
    public let plan: String?
    public init(calendar: String, timeZone: String, onCalendar: String, next: [Date], slots: [Date]? = nil, plan: String? = nil) {
        self.slots = slots
        self.plan = plan
        self.calendar = calendar
        self.timeZone = timeZone
        self.onCalendar = onCalendar
        self.next = next
    }
}

extension SchedulePreview {
    /// The preview of `schedule` with `plan`'s window and spread.
    public init(_ schedule: Schedule, plan: StartPlan, after date: Date, count: Int) {
        if plan.isImmediate {
            self.init(
                calendar: schedule.calendar, timeZone: schedule.timeZone, onCalendar: schedule.onCalendarLine,
                next: schedule.nextElapses(after: date, count: count))
        } else {
            let starts = plan.starts(of: schedule, after: date, count: count)
            self.init(
                calendar: schedule.calendar, timeZone: schedule.timeZone, onCalendar: schedule.onCalendarLine, next: starts.map(\.start),
                slots: starts.map(\.slot), plan: plan.summary)
        }
    }

    /// The job id whose spread offset a preview uses: a job id (`job_…`), or "new-job".
    public static func jobReference(_ text: String?) throws(DomainError) -> String {
        guard let text, !text.isEmpty else { return "new-job" }
        guard text.count <= 64, text.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == "-") }) else {
            throw .invalid("job", "\"\(text)\" is not a job id; give the id of the job the spread belongs to (e.g. job_…), or leave it out")
        }
        return text
    }
}
