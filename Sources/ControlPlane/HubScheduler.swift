import BackupCore
import Foundation
import LinkProtocol
import Logging
import ServiceLifecycle
import Store

/// The hub's half of "schedules fire twice, run once": shortly after each slot, if no run for it
/// has arrived, ask the server's agent to run it. A job's window and spread do not move the
/// slot: the run (box timer or this trigger) records itself at once and waits on the box for its
/// start (`StartPlan`), shown as `waiting for window`. The agent claims each slot once, so a box timer
/// and this trigger for the same slot give one run. Command ids are derived from (job, slot), so
/// several hub processes sharing one database enqueue a slot once.
public struct HubScheduler: Service {
    public struct Configuration: Sendable {
        /// How often to look for due slots (default 20 s).
        public var interval: Duration = .seconds(20)
        /// How long after a slot the hub waits for the box's own timer (default 120 s; timers have up to 60 s of random delay).
        public var triggerDelay: TimeInterval = 120
        /// Older slots are left alone: the box's Persistent timer catches up on them (default 1 hour).
        public var maximumAge: TimeInterval = 3600
        public init() {}
    }

    let store: any HubStore
    let clock: any HubClock
    let configuration: Configuration
    let logger: Logger

    public init(store: any HubStore, clock: any HubClock, configuration: Configuration = .init(), logger: Logger) {
        self.store = store
        self.clock = clock
        self.configuration = configuration
        self.logger = logger
    }

    public func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                let fired = try await fireDueSlots()
                if !fired.isEmpty {
                    logger.info(
                        "hub triggered due slots",
                        metadata: ["scheduler.fired": "\(fired.count)", "scheduler.slots": "\(fired.joined(separator: ","))"])
                }
            } catch {
                logger.error("scheduler pass failed", metadata: ["error.type": "\(type(of: error))"])
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: configuration.interval) }
        }
    }

    /// One pass: enqueue a run-now command for every due slot without a run. Returns how many.
    @discardableResult
    public func tick() async throws -> Int { try await fireDueSlots().count }

    /// One pass, naming what it enqueued: `JOB@SLOT` (the slot in ISO 8601, UTC) per slot; logged comma-separated.
    func fireDueSlots() async throws -> [String] {
        let now = clock.now()
        var fired: [String] = []
        for job in try await store.schedulableJobs() {
            guard let slot = job.schedule.previousElapse(atOrBefore: now.addingTimeInterval(-configuration.triggerDelay)),
                slot >= job.createdAt, now.timeIntervalSince(slot) <= configuration.maximumAge,
                // A slot held outside the job's window merges into a later one (the box skips it too).
                !job.startPlan.isSuperseded(slot: slot, schedule: job.schedule),
                try await !store.hasRun(jobID: job.id, slot: slot)
            else { continue }
            let command = AgentCommand(id: Self.commandID(jobID: job.id, slot: slot), kind: .runNow, jobID: job.id, slot: slot, createdAt: now)
            do {
                try await store.enqueueCommand(command, accountID: job.accountID, serverID: job.serverID)
                fired.append("\(job.id)@\(slot.formatted(.iso8601))")
            } catch StoreError.duplicate {
                continue  // already enqueued by an earlier pass or another hub process
            }
        }
        return fired
    }

    /// The one command id every hub process derives for a job's slot, so the slot is enqueued once.
    static func commandID(jobID: String, slot: Date) -> String {
        ResourceID.derived(.command, from: "\(jobID)@\(slot.millisecondsSince1970)")
    }
}
