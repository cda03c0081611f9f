import BackupCore
import Foundation

/// `GET /destinations/{destination}/stats`: the destination's repositories over time (one point
/// per measurement of one server's repository), their newest values summed, and growth per day.
public struct DestinationStats: Codable, Sendable {
    public let destinationID: String
    /// The newest measurement of each server's repository, summed (nil before any).
    public let current: RepositoryStats?
    /// Stored (deduplicated) bytes added per day over the points, summed over servers (nil under a day of history).
    public let storedBytesPerDay: Int64?
    /// Oldest first.
    public let points: [RepositoryStatsPoint]

    public init(destinationID: String, current: RepositoryStats?, storedBytesPerDay: Int64?, points: [RepositoryStatsPoint]) {
        self.destinationID = destinationID
        self.current = current
        self.storedBytesPerDay = storedBytesPerDay
        self.points = points
    }
}
