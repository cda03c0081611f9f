import BackupCore
import Foundation
import LinkProtocol

/// Sends run progress straight to the hub, best effort and at most once per second. Progress
/// never goes through the outbox: during a hub outage it is simply dropped instead of piling up
/// (the run's start and end are in the outbox and are what counts).
public actor ProgressReporter {
    private let link: HubLink?
    private let interval: TimeInterval
    private var lastSent = Date.distantPast
    private var sending = false
    private var pending: Task<Void, Never>?

    public init(link: HubLink?, interval: TimeInterval = 1) {
        self.link = link
        self.interval = interval
    }

    /// Queues `progress` of `run` if a second has passed since the last one and no send is under way.
    public func report(_ progress: RunProgress, run: Run) {
        guard let link, !sending else { return }
        let now = Date()
        guard now.timeIntervalSince(lastSent) >= interval else { return }
        lastSent = now
        sending = true
        let event = AgentEvent(id: ResourceID.make(.event), kind: .runProgress, occurredAt: now.wholeMilliseconds, run: run, progress: progress)
        pending = Task {
            _ = try? await link.send(EventBatch(events: [event]))
            self.done()
        }
    }

    private func done() { sending = false }

    /// Waits for a send under way (before the final event, so progress never arrives after it).
    public func drain() async {
        await pending?.value
    }
}
