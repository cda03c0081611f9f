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
    public init(schedule: String, timeZone: String?, count: Int?, from: Date?) {
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
    public let next: [Date]
    public init(calendar: String, timeZone: String, onCalendar: String, next: [Date]) {
        self.calendar = calendar
        self.timeZone = timeZone
        self.onCalendar = onCalendar
        self.next = next
    }
}
