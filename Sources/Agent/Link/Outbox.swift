import BackupCore
import Foundation
import HubAPI
import LinkProtocol

/// Events waiting for the hub: one JSON file per event (`outbox/<event id>.json`), written to a
/// temporary name, fsynced and renamed, so a crash never leaves half an event. A file is deleted
/// only after the hub acknowledged its id; the hub ingests each id once, so resending is harmless.
public struct Outbox: Sendable {
    public let directory: String
    public static let batchSize = 100

    public init(directory: String) {
        self.directory = directory
    }

    public func append(_ event: AgentEvent) throws {
        try SafeName.check(event.id, what: "event id")
        try SecureFile.makeDirectory(directory)
        let data = try HubJSON.encoder().encode(event)
        try SecureFile.write(data, to: path(event.id), mode: 0o600)
    }

    /// Every waiting event, oldest first (then by id). Unreadable files are set aside as `*.bad`.
    public func pending() throws -> [AgentEvent] {
        let decoder = HubJSON.decoder()
        var events: [AgentEvent] = []
        for name in SecureFile.list(directory) where name.hasSuffix(".json") && !name.hasPrefix(".") {
            let file = directory + "/" + name
            guard let data = try? SecureFile.read(file) else { continue }  // removed meanwhile
            if let event = try? decoder.decode(AgentEvent.self, from: data) {
                events.append(event)
            } else {
                rename(file, file + ".bad")
            }
        }
        return events.sorted { ($0.occurredAt, $0.id) < ($1.occurredAt, $1.id) }
    }

    /// Deletes acknowledged events (unknown ids are ignored).
    public func remove(ids: [String]) {
        for id in ids where SafeName.isSafe(id) { SecureFile.remove(path(id)) }
    }

    /// How many events wait.
    public var depth: Int {
        SecureFile.list(directory).filter { $0.hasSuffix(".json") && !$0.hasPrefix(".") }.count
    }

    /// Sends every waiting event in batches of at most 100, removing what the hub acknowledged.
    /// Returns how many were acknowledged; throws the first failure (what was sent stays sent).
    /// An event the hub refuses outright (a 4xx other than 401/403/408/429) would block the queue
    /// forever: its batch is retried one event at a time and the refused event is set aside as
    /// `<id>.json.rejected` (and logged), so the others still arrive.
    /// With a `deadline`, no new request starts after it (each request is bounded by the link's own timeout).
    @discardableResult
    public func flush(link: HubLink, until deadline: ContinuousClock.Instant? = nil) async throws -> Int {
        var acknowledged = 0
        let events = try pending()
        var start = 0
        while start < events.count {
            if let deadline, ContinuousClock.now >= deadline { break }
            let batch = Array(events[start..<min(start + Self.batchSize, events.count)])
            do {
                acknowledged += try await send(batch, link: link)
            } catch let error as HubLinkError where Self.isRefusal(error) {
                for event in batch {
                    do {
                        acknowledged += try await send([event], link: link)
                    } catch let single as HubLinkError where Self.isRefusal(single) {
                        rename(path(event.id), path(event.id) + ".rejected")
                        AgentLog.write(
                            "the hub refused event \(event.id) (\(event.kind.rawValue) of run \(event.run.id)): \(single); it is kept in \(directory) as \(event.id).json.rejected"
                        )
                    }
                }
            }
            start += batch.count
        }
        return acknowledged
    }

    private func send(_ batch: [AgentEvent], link: HubLink) async throws -> Int {
        let ack = try await link.send(EventBatch(events: batch))
        let sent = Set(batch.map(\.id))
        let ids = ack.acknowledged.filter { sent.contains($0) }
        remove(ids: ids)
        return ids.count
    }

    static func isRefusal(_ error: HubLinkError) -> Bool {
        guard case .rejected(let status, _, _, _) = error else { return false }
        return (400..<500).contains(status) && !error.isUnauthorized && !error.isTransient && status != 404
    }

    private func path(_ id: String) -> String { directory + "/" + id + ".json" }
}

extension Outbox {
    /// One best-effort delivery, bounded in time (runs and restores at their start and end); the
    /// daemon delivers what is left. The bound has one source: each request ends by URLSession's
    /// own timeout (the link's), and no request starts after `seconds`. Nothing races that timeout
    /// to cancel a request under way: a second timer cancelling a task while URLSession's fired
    /// is how a run once hung for good.
    func deliver(via link: HubLink?, within seconds: Double) async {
        guard let link, seconds > 0 else { return }
        _ = try? await flush(link: link, until: .now + .milliseconds(Int(seconds * 1000)))
    }
}
