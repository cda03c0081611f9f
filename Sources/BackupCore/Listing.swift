import Foundation

/// A position in a newest-first listing: the last item's creation time and id. Opaque to
/// clients (`mzc1.<ms>.<id>`), stable under inserts, and cheap to seek with an index.
public struct Cursor: Sendable, Equatable {
    public var createdAt: Date
    public var id: String

    public init(createdAt: Date, id: String) {
        self.createdAt = createdAt
        self.id = id
    }

    public var token: String { "mzc1.\(createdAt.millisecondsSince1970).\(id)" }

    public static func parse(_ token: String) throws(DomainError) -> Cursor {
        let parts = token.split(separator: ".", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0] == "mzc1", let ms = Int64(parts[1]), !parts[2].isEmpty,
            parts[2].allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" })
        else {
            throw .invalid("cursor", "the cursor is not one this hub issued; pass the nextCursor value of the previous page unchanged")
        }
        return Cursor(createdAt: Date(millisecondsSince1970: ms), id: String(parts[2]))
    }
}

/// Page size rules shared by every listing.
public enum PageSize {
    public static let standard = 50
    public static let maximum = 500

    public static func validated(_ limit: Int?) throws(DomainError) -> Int {
        guard let limit else { return standard }
        guard (1...maximum).contains(limit) else {
            throw .invalid("limit", "\(limit) is not a page size; use 1 to \(maximum)")
        }
        return limit
    }
}

/// One page of a listing and the cursor of the next, if any.
public struct Page<Item: Sendable>: Sendable {
    public var items: [Item]
    public var nextCursor: Cursor?

    public init(items: [Item], nextCursor: Cursor?) {
        self.items = items
        self.nextCursor = nextCursor
    }
}

/// Filters for the run listing; all optional, combined with AND.
public struct RunFilter: Sendable, Equatable {
    public var serverID: String?
    public var jobID: String?
    public var destinationID: String?
    public var status: RunStatus?
    public var since: Date?
    public var until: Date?

    public init(
        serverID: String? = nil, jobID: String? = nil, destinationID: String? = nil, status: RunStatus? = nil, since: Date? = nil, until: Date? = nil
    ) {
        self.serverID = serverID
        self.jobID = jobID
        self.destinationID = destinationID
        self.status = status
        self.since = since
        self.until = until
    }
}

/// Filters for the snapshot listing; all optional, combined with AND.
public struct SnapshotFilter: Sendable, Equatable {
    public var serverID: String?
    public var jobID: String?
    public var destinationID: String?
    public var since: Date?
    public var until: Date?

    public init(serverID: String? = nil, jobID: String? = nil, destinationID: String? = nil, since: Date? = nil, until: Date? = nil) {
        self.serverID = serverID
        self.jobID = jobID
        self.destinationID = destinationID
        self.since = since
        self.until = until
    }
}

/// Counts over an account's whole fleet, for the hub's summary.
public struct FleetSummary: Sendable, Codable, Equatable {
    public var servers: Int
    public var serversEnrolled: Int
    public var destinations: Int
    public var jobs: Int
    public var jobsEnabled: Int
    public var snapshots: Int
    public var protectedBytes: Int64
    public var runsLast24h: [String: Int]
    public var lastFailures: Int

    public init(
        servers: Int = 0, serversEnrolled: Int = 0, destinations: Int = 0, jobs: Int = 0, jobsEnabled: Int = 0, snapshots: Int = 0,
        protectedBytes: Int64 = 0, runsLast24h: [String: Int] = [:], lastFailures: Int = 0
    ) {
        self.servers = servers
        self.serversEnrolled = serversEnrolled
        self.destinations = destinations
        self.jobs = jobs
        self.jobsEnabled = jobsEnabled
        self.snapshots = snapshots
        self.protectedBytes = protectedBytes
        self.runsLast24h = runsLast24h
        self.lastFailures = lastFailures
    }
}
