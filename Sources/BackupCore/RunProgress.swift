import Foundation

/// Live progress of a run (from restic's status lines).
public struct RunProgress: Codable, Sendable, Equatable {
    public var percentDone: Double
    public var filesDone: Int64
    public var totalFiles: Int64
    public var bytesDone: Int64
    public var totalBytes: Int64
    public var secondsElapsed: Double
    public var secondsRemaining: Double?
    /// Which destination and source the numbers are about, e.g. "dst_… files".
    public var phase: String?
    /// Set while the run waits before its work: for its window or spread, or for a slot under a
    /// concurrency cap (docs/schedules.md, "Windows, spread and concurrency").
    public var waiting: RunWait?

    public init(
        percentDone: Double, filesDone: Int64 = 0, totalFiles: Int64 = 0, bytesDone: Int64 = 0, totalBytes: Int64 = 0,
        secondsElapsed: Double = 0, secondsRemaining: Double? = nil, phase: String? = nil, waiting: RunWait? = nil
    ) {
        self.waiting = waiting
        self.percentDone = percentDone
        self.filesDone = filesDone
        self.totalFiles = totalFiles
        self.bytesDone = bytesDone
        self.totalBytes = totalBytes
        self.secondsElapsed = secondsElapsed
        self.secondsRemaining = secondsRemaining
        self.phase = phase
    }
}

/// What a run is waiting for before it starts its work.
public struct RunWait: Codable, Sendable, Equatable {
    public enum Reason: String, Codable, Sendable, CaseIterable {
        /// The job's backup window (or its spread offset) has not come yet.
        case window
        /// A concurrency cap: the server's (`destinationID` nil) or a destination's.
        case slot
    }

    public var reason: Reason
    /// Window: when the run starts.
    public var until: Date?
    /// Slot: 1 = next in line.
    public var position: Int?
    /// Slot: the capped destination (nil: the server's own cap).
    public var destinationID: String?

    public init(reason: Reason, until: Date? = nil, position: Int? = nil, destinationID: String? = nil) {
        self.reason = reason
        self.until = until
        self.position = position
        self.destinationID = destinationID
    }

    /// `waiting for window`, `waiting for slot (position 1 at dst_…)`.
    public var text: String {
        switch reason {
        case .window: return "waiting for window"
        case .slot:
            var details: [String] = []
            if let position { details.append("position \(position)") }
            details.append(destinationID.map { "at \($0)" } ?? "on this server")
            return "waiting for slot (" + details.joined(separator: " ") + ")"
        }
    }

    /// The progress a waiting run reports.
    public var progress: RunProgress {
        RunProgress(percentDone: 0, phase: text + (until.map { " until \(Self.format($0))" } ?? ""), waiting: self)
    }

    static func format(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: date)
    }
}

extension Run {
    /// The status as people read it: `running`, or what an unfinished run waits for
    /// (`waiting for slot (position 1 at dst_…)`).
    public var statusText: String {
        guard !status.isFinished, let waiting = progress?.waiting else { return status.rawValue }
        return waiting.text
    }
}

/// A run asking for one of a capped destination's slots.
public struct DestinationSlotClaim: Codable, Sendable, Equatable {
    public var accountID: String
    public var serverID: String
    public var destinationID: String
    public var jobID: String
    public var runID: String

    public init(accountID: String, serverID: String, destinationID: String, jobID: String, runID: String) {
        self.accountID = accountID
        self.serverID = serverID
        self.destinationID = destinationID
        self.jobID = jobID
        self.runID = runID
    }
}

/// Where a run stands at a capped destination: holding a slot, or waiting at `position` (1 = next).
public struct DestinationSlotGrant: Codable, Sendable, Equatable {
    public var destinationID: String
    public var runID: String
    public var serverID: String
    public var jobID: String
    public var granted: Bool
    /// 0 while holding; 1 = next in line.
    public var position: Int
    public var requestedAt: Date
    public var expiresAt: Date

    public init(
        destinationID: String, runID: String, serverID: String, jobID: String, granted: Bool, position: Int, requestedAt: Date, expiresAt: Date
    ) {
        self.destinationID = destinationID
        self.runID = runID
        self.serverID = serverID
        self.jobID = jobID
        self.granted = granted
        self.position = position
        self.requestedAt = requestedAt
        self.expiresAt = expiresAt
    }
}
