import BackupCore
import Foundation

/// `POST /api/v1/jobs/{job}/retention-preview`: the retention to try (absent: the job's own).
public struct RetentionPreviewRequest: Codable, Sendable {
    public let retention: RetentionPolicy?
    /// Retention per destination (id or name) to try, replacing the job's per-destination rules.
    public let destinationRetention: [DestinationRetention]?
    public init(retention: RetentionPolicy?, destinationRetention: [DestinationRetention]? = nil) {
        self.retention = retention
        self.destinationRetention = destinationRetention
    }
}

/// One of the job's snapshots at a destination, and whether the retention keeps it.
public struct RetentionPreviewSnapshot: Codable, Sendable, Equatable {
    public let snapshotID: String
    public let createdAt: Date
    public let resticSnapshotIDs: [String]
    /// Why it is kept, in restic's words ("daily snapshot"); empty when it would be removed.
    public let reasons: [String]
    public init(snapshotID: String, createdAt: Date, resticSnapshotIDs: [String], reasons: [String]) {
        self.snapshotID = snapshotID
        self.createdAt = createdAt
        self.resticSnapshotIDs = resticSnapshotIDs
        self.reasons = reasons
    }
}

/// What the retention does at one destination of the job.
public struct RetentionPreviewDestination: Codable, Sendable {
    public let destinationID: String
    public let destinationName: String
    /// The policy applied at this destination, in words.
    public let summary: String
    /// False at peer destinations: they are append-only, retention is not applied there.
    public let applied: Bool
    public let keep: [RetentionPreviewSnapshot]
    public let remove: [RetentionPreviewSnapshot]
    public init(
        destinationID: String, destinationName: String, summary: String, applied: Bool, keep: [RetentionPreviewSnapshot],
        remove: [RetentionPreviewSnapshot]
    ) {
        self.summary = summary
        self.destinationID = destinationID
        self.destinationName = destinationName
        self.applied = applied
        self.keep = keep
        self.remove = remove
    }
}

/// The preview: per destination, the snapshots kept and removed (newest first). Nothing is changed.
public struct RetentionPreview: Codable, Sendable {
    /// The job's retention (where no destination has its own).
    public let retention: RetentionPolicy
    public let summary: String
    /// The time zone days and hours were counted in (the job's schedule's).
    public let timeZone: String
    public let destinations: [RetentionPreviewDestination]
    public init(retention: RetentionPolicy, summary: String, timeZone: String, destinations: [RetentionPreviewDestination]) {
        self.retention = retention
        self.summary = summary
        self.timeZone = timeZone
        self.destinations = destinations
    }
}
