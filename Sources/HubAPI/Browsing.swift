import BackupCore
import Foundation

/// One folder of a snapshot copy.
public struct TreeView: Codable, Sendable {
    public let snapshotID: String
    public let destinationID: String
    /// `listing` (ask again shortly), `ready` or `failed`.
    public let status: SnapshotListing.Status
    public let path: String
    public let entries: [EntryView]
    /// Entries listed so far in the whole snapshot.
    public let listed: Int64
    public let error: String?
    /// Continue a long folder after this name.
    public let nextAfter: String?
    public init(
        snapshotID: String, destinationID: String, status: SnapshotListing.Status, path: String, entries: [EntryView], listed: Int64,
        error: String?, nextAfter: String?
    ) {
        self.snapshotID = snapshotID
        self.destinationID = destinationID
        self.status = status
        self.path = path
        self.entries = entries
        self.listed = listed
        self.error = error
        self.nextAfter = nextAfter
    }
}

/// A file or folder in a snapshot; `mode` in octal.
public struct EntryView: Codable, Sendable {
    public let name: String
    public let path: String
    public let type: String
    public let size: Int64
    public let mode: String
    public let modifiedAt: Date?
    public init(_ entry: SnapshotEntry) {
        name = entry.name
        path = entry.path
        type = entry.type
        size = entry.size
        modifiedAt = entry.modifiedAt
        mode = String(format: "%04o", entry.mode)
    }
}
