import Foundation

/// How a job is doing, computed from its schedule, its runs and its server's link — the same
/// values in the API, the CLI and (later) the web hub.
public enum JobHealth: String, Sendable, Codable, CaseIterable {
    case ok, failing, partial, missed, stale, offline, neverRun = "never_run", disabled
    /// The job has scheduled drills and its newest drill failed, or none passed within twice the drill's period.
    case unproven

    /// How long after a slot a run must have started before the slot counts as missed.
    public static let defaultGrace: TimeInterval = 15 * 60

    /// Evaluates one job from its status (newest run, newest snapshot, stale threshold).
    /// Order of precedence: disabled, missed (offline when the agent is away), never run, failing,
    /// partial, stale (no snapshot newer than the job's threshold), unproven (jobs with scheduled
    /// drills: the newest drill failed, or none passed within twice their period), ok.
    public static func evaluate(_ job: JobStatus, serverOnline: Bool, now: Date, grace: TimeInterval = defaultGrace) -> JobHealth {
        guard job.enabled else { return .disabled }
        let lastRun = job.latestRun
        // Missed: a slot came due (grace included) after the newest run's slot or start — or, with no
        // run, at or after the job's creation. Searching forward from that point is one step of the
        // schedule engine, cheaper than searching back from now (pages evaluate thousands of jobs).
        let covered = lastRun.map { max($0.slot ?? $0.createdAt, $0.createdAt) } ?? job.createdAt.addingTimeInterval(-0.001)
        if var slot = job.schedule.nextElapse(after: covered), slot <= now.addingTimeInterval(-grace) {
            // With a window or spread the slot's run starts later, and slots held outside the window merge into the last one.
            let plan = StartPlan(jobID: job.id, timeZone: job.schedule.timeZone, window: job.window, spreadSeconds: job.spreadSeconds)
            if plan.isImmediate { return serverOnline ? .missed : .offline }
            var steps = 0
            while plan.isSuperseded(slot: slot, schedule: job.schedule), steps < 2000, let next = job.schedule.nextElapse(after: slot) {
                slot = next
                steps += 1
            }
            if plan.start(forSlot: slot) <= now.addingTimeInterval(-grace) { return serverOnline ? .missed : .offline }
        }
        let stale =
            job.staleAfter.map { limit in
                (job.newestSnapshotAt ?? job.createdAt) < now.addingTimeInterval(-TimeInterval(limit))
            } ?? false
        guard let lastRun else { return serverOnline ? (stale ? .stale : .neverRun) : .offline }
        switch lastRun.status {
        case .partial: return .partial
        case .failed, .interrupted: return .failing
        // Cancelled on purpose (a before hook with policy `cancel`, or the daemon stopping): no
        // failure and no alert; the stale rule still catches a job that keeps being cancelled.
        case .succeeded, .queued, .running, .cancelled:
            guard serverOnline else { return .offline }
            if stale { return .stale }
            return lacksProof(job, now: now) ? .unproven : .ok
        }
    }

    /// Whether a job with scheduled drills lacks a recent passing drill: its newest drill failed, or
    /// none passed within twice the period (a new setting gets one period for its first drill,
    /// counted from when drills were turned on or the newest drill started).
    public static func lacksProof(_ job: JobStatus, now: Date) -> Bool {
        guard let every = job.drillEvery else { return false }
        if let last = job.lastDrill, last.status.isFinished, last.status != .succeeded { return true }
        if let proven = job.provenAt, proven >= now.addingTimeInterval(-2 * TimeInterval(every)) { return false }
        // No passing drill lately: still fine while drills were turned on (or the newest drill started) less than a period ago.
        let since = max(job.drillSince ?? job.createdAt, job.lastDrill?.createdAt ?? .distantPast)
        return since < now.addingTimeInterval(-TimeInterval(every))
    }

    /// Evaluates a job given its newest run (callers that hold the full run).
    public static func evaluate(
        job: Job, lastRun: Run?, newestSnapshotAt: Date? = nil, serverOnline: Bool, now: Date,
        grace: TimeInterval = defaultGrace
    ) -> JobHealth {
        evaluate(
            JobStatus(job, latestRun: lastRun.map(RunBrief.init), newestSnapshotAt: newestSnapshotAt), serverOnline: serverOnline, now: now,
            grace: grace)
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

/// A server's health, from its link and its jobs' health: the worst problem first, so a card or
/// an API listing says at a glance whether anything on the box needs attention.
public enum ServerHealth: String, Sendable, Codable, CaseIterable {
    case ok, failing, missed, partial, stale, offline, neverRun = "never_run", notEnrolled = "not_enrolled", noJobs = "no_jobs"

    public static func evaluate(enrolled: Bool, online: Bool, jobs: [JobHealth]) -> ServerHealth {
        guard enrolled else { return .notEnrolled }
        guard online else { return .offline }
        let active = jobs.filter { $0 != .disabled }
        guard !active.isEmpty else { return .noJobs }
        for (job, server) in [(JobHealth.failing, ServerHealth.failing), (.missed, .missed), (.partial, .partial), (.stale, .stale)]
        where active.contains(job) {
            return server
        }
        return active.allSatisfy { $0 == .neverRun } ? .neverRun : .ok
    }
}
