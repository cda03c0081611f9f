import Foundation

/// How a job is doing, computed from its schedule, its runs and its server's link — the same
/// values in the API, the CLI and (later) the web hub.
public enum JobHealth: String, Sendable, Codable, CaseIterable {
    case ok, failing, partial, missed, offline, neverRun = "never_run", disabled

    /// How long after a slot a run must have started before the slot counts as missed.
    public static let defaultGrace: TimeInterval = 15 * 60

    /// Evaluates one job.
    /// - Parameters:
    ///   - lastRun: the job's newest run, if any.
    ///   - serverOnline: whether the server's agent has been heard from recently.
    public static func evaluate(job: Job, lastRun: Run?, serverOnline: Bool, now: Date, grace: TimeInterval = defaultGrace) -> JobHealth {
        guard job.enabled else { return .disabled }
        if let slot = job.schedule.previousElapse(atOrBefore: now.addingTimeInterval(-grace)), slot >= job.createdAt {
            // A run for that slot (or started after it, e.g. run-now) covers it.
            let covered = lastRun.map { ($0.slot ?? $0.createdAt) >= slot || $0.createdAt >= slot } ?? false
            if !covered { return serverOnline ? .missed : .offline }
        }
        guard let lastRun else { return serverOnline ? .neverRun : .offline }
        switch lastRun.status {
        case .succeeded: return serverOnline ? .ok : .offline
        case .partial: return .partial
        case .failed, .interrupted, .cancelled: return .failing
        case .queued, .running: return serverOnline ? .ok : .offline
        }
    }
}

extension Server {
    /// How long without a word from the agent before the server counts as offline.
    public static let onlineWindow: TimeInterval = 90

    public func isOnline(now: Date) -> Bool {
        guard let lastSeenAt else { return false }
        return now.timeIntervalSince(lastSeenAt) <= Self.onlineWindow
    }
}
