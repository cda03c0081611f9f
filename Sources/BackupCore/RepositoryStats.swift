import Foundation

/// One server's repository at a destination, measured by its agent after a backup or prune
/// (`restic stats`): what restoring every snapshot would write, what the repository stores after
/// deduplication, and how many snapshots it holds (docs/operations.md, "Repository statistics").
public struct RepositoryStats: Sendable, Codable, Equatable {
    /// What restoring every snapshot would write (`restic stats --mode restore-size`).
    public var totalBytes: Int64
    /// What the repository stores after deduplication (`restic stats --mode raw-data`).
    public var storedBytes: Int64
    public var snapshotCount: Int

    public init(totalBytes: Int64, storedBytes: Int64, snapshotCount: Int) {
        self.totalBytes = totalBytes
        self.storedBytes = storedBytes
        self.snapshotCount = snapshotCount
    }

    /// Reported values are bounded (a hostile or broken agent cannot store nonsense).
    public var isPlausible: Bool {
        totalBytes >= 0 && storedBytes >= 0 && snapshotCount >= 0 && snapshotCount <= 10_000_000 && totalBytes < Int64(1) << 60
            && storedBytes < Int64(1) << 60
    }
}

/// One measurement in a destination's time series.
public struct RepositoryStatsPoint: Sendable, Codable, Equatable {
    public var serverID: String
    public var runID: String
    public var measuredAt: Date
    public var stats: RepositoryStats

    public init(serverID: String, runID: String, measuredAt: Date, stats: RepositoryStats) {
        self.serverID = serverID
        self.runID = runID
        self.measuredAt = measuredAt
        self.stats = stats
    }
}

/// A destination's statistics summed over its servers' repositories.
public enum RepositoryGrowth {
    /// The newest measurement of each server, summed.
    public static func current(_ points: [RepositoryStatsPoint]) -> RepositoryStats? {
        var newest: [String: RepositoryStatsPoint] = [:]
        for point in points where (newest[point.serverID]?.measuredAt ?? .distantPast) <= point.measuredAt { newest[point.serverID] = point }
        guard !newest.isEmpty else { return nil }
        return newest.values.reduce(RepositoryStats(totalBytes: 0, storedBytes: 0, snapshotCount: 0)) {
            RepositoryStats(
                totalBytes: $0.totalBytes + $1.stats.totalBytes, storedBytes: $0.storedBytes + $1.stats.storedBytes,
                snapshotCount: $0.snapshotCount + $1.stats.snapshotCount)
        }
    }

    /// Stored bytes added per day: for each server, (newest − oldest) / days between them, summed;
    /// nil with less than a day between a server's first and last measurement.
    public static func storedPerDay(_ points: [RepositoryStatsPoint]) -> Int64? {
        var total: Double = 0
        var any = false
        for (_, series) in Dictionary(grouping: points, by: \.serverID) {
            let sorted = series.sorted { $0.measuredAt < $1.measuredAt }
            guard let first = sorted.first, let last = sorted.last else { continue }
            let days = last.measuredAt.timeIntervalSince(first.measuredAt) / 86_400
            guard days >= 1 else { continue }
            total += Double(last.stats.storedBytes - first.stats.storedBytes) / days
            any = true
        }
        return any ? Int64(total.rounded()) : nil
    }

    /// The summed stored bytes over time: at each measurement, every server's newest value so far.
    public static func storedSeries(_ points: [RepositoryStatsPoint]) -> [(Date, Int64)] {
        var latest: [String: Int64] = [:]
        var series: [(Date, Int64)] = []
        for point in points.sorted(by: { $0.measuredAt < $1.measuredAt }) {
            latest[point.serverID] = point.stats.storedBytes
            series.append((point.measuredAt, latest.values.reduce(0, +)))
        }
        return series
    }
}
