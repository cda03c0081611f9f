import Foundation

/// One entry of a snapshot's tree as the hub keeps it for browsing: found by its directory
/// (`parent`) and name, so listing a folder is one indexed query however big the tree.
public struct SnapshotEntry: Sendable, Codable, Equatable {
    public var parent: String
    public var name: String
    /// `file`, `dir`, `symlink`, …
    public var type: String
    public var size: Int64
    /// Permission bits, e.g. 0o644.
    public var mode: Int
    public var modifiedAt: Date?
    /// The restic snapshot of the copy that holds the entry (files, or one database dump).
    public var resticID: String?

    public init(parent: String, name: String, type: String, size: Int64, mode: Int, modifiedAt: Date?, resticID: String? = nil) {
        self.parent = parent
        self.name = name
        self.type = type
        self.size = size
        self.mode = mode
        self.modifiedAt = modifiedAt
        self.resticID = resticID
    }

    /// The entry's full path in the snapshot.
    public var path: String { parent == "/" ? "/" + name : parent + "/" + name }

    /// Splits a snapshot path into its directory and name (`/a/b` → `/a`, `b`; `/a` → `/`, `a`).
    public static func split(_ path: String) -> (parent: String, name: String) {
        guard let slash = path.lastIndex(of: "/") else { return ("/", path) }
        let parent = String(path[..<slash])
        return (parent.isEmpty ? "/" : parent, String(path[path.index(after: slash)...]))
    }

    /// A browse path as given by a person: absolute, no trailing slash, no `..`.
    public static func normalized(_ path: String?) throws(DomainError) -> String {
        var text = (path ?? "/").trimmingSpaces
        if text.isEmpty { text = "/" }
        guard text.hasPrefix("/"), !text.contains(where: \.isNewline), !text.split(separator: "/").contains("..") else {
            throw .invalid("path", "\"\(text)\" is not an absolute path in the snapshot, e.g. /var/www")
        }
        while text.count > 1 && text.hasSuffix("/") { text.removeLast() }
        return text
    }
}

/// Where a snapshot copy's listing stands: asked for, being uploaded, ready or failed.
public struct SnapshotListing: Sendable, Codable, Equatable {
    public enum Status: String, Sendable, Codable, CaseIterable { case listing, ready, failed }
    public var snapshotID: String
    public var destinationID: String
    public var status: Status
    public var entries: Int64
    public var requestedAt: Date
    public var completedAt: Date?
    public var error: String?

    public init(
        snapshotID: String, destinationID: String, status: Status, entries: Int64, requestedAt: Date, completedAt: Date? = nil, error: String? = nil
    ) {
        self.snapshotID = snapshotID
        self.destinationID = destinationID
        self.status = status
        self.entries = entries
        self.requestedAt = requestedAt
        self.completedAt = completedAt
        self.error = error
    }
}
