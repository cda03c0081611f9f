import BackupCore
import Foundation
import HubAPI
import Logging
import ServiceLifecycle
import Store

/// Scheduled restore drills (docs/architecture.md, "Restore drills are started by the hub"): once
/// a job with a drill setting has had no drill for its period, start one, exactly as
/// `POST /jobs/{job}/drills` does. The run id is derived from (job, period), so several hub
/// processes sharing one database start a period's drill once.
public struct DrillScheduler: Service {
    let hub: HubServices
    let logger: Logger
    /// How often to look for due drills.
    let interval: Duration

    public init(hub: HubServices, logger: Logger, interval: Duration = .seconds(60)) {
        self.hub = hub
        self.logger = logger
        self.interval = interval
    }

    public func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                let started = try await tick()
                if started > 0 { logger.info("hub started due restore drills", metadata: ["drills.started": "\(started)"]) }
            } catch {
                logger.error("drill scheduler pass failed", metadata: ["error.type": "\(type(of: error))"])
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
        }
    }

    /// One pass: a drill for every enabled job whose period passed since its newest drill. Returns how many started.
    @discardableResult
    public func tick() async throws -> Int {
        let now = hub.clock.now()
        var started = 0
        for job in try await hub.store.schedulableJobs() {
            guard let drill = job.drill, job.kind == .full || job.kind == .database else { continue }
            let status = try await hub.store.jobStatuses(accountID: job.accountID, jobIDs: [job.id]).first
            if let last = status?.lastDrill {
                guard last.status.isFinished, DrillSchedule.isDue(lastCreatedAt: last.createdAt, every: drill.frequency.interval, now: now) else {
                    continue
                }
            }
            let period = DrillSchedule.period(of: now, every: drill.frequency.interval)
            do {
                _ = try await DrillService(hub: hub).drill(
                    job, request: DrillRequest(), runID: ResourceID.derived(.run, from: "drill:\(job.id)@\(period)"))
                started += 1
            } catch let error as DomainError {
                // No snapshot yet, a destination gone, the server not enrolled: the job page and its health say so.
                logger.debug("restore drill not started", metadata: ["job.id": "\(job.id)", "reason": "\(error.message)"])
            } catch StoreError.duplicate {
                continue
            }
        }
        return started
    }
}

/// When a scheduled drill is due: a full period after the newest drill was started.
enum DrillSchedule {
    static func isDue(lastCreatedAt: Date, every: TimeInterval, now: Date) -> Bool { now.timeIntervalSince(lastCreatedAt) >= every }

    /// The period `now` falls in (counted from the epoch), which names the period's one drill.
    static func period(of now: Date, every: TimeInterval) -> Int64 { Int64((now.timeIntervalSince1970 / every).rounded(.down)) }
}
