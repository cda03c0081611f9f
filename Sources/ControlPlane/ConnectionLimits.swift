import Foundation

/// One command long-poll per agent: a new poll from the same server replaces the one waiting,
/// which answers at once (empty) — a restarted or duplicated agent cannot pile up held requests.
///
/// It also remembers, per server, the command bell's generation at the last read that found no
/// command, and when: while the generation is unchanged (no command committed since, in this
/// process or notified by another replica) and the read is younger than the safety poll, a poll
/// needs no read — an idle agent's polls cost one read per safety poll instead of two per poll.
public actor CommandPolls {
    private var current: [String: UInt64] = [:]
    private var issued: UInt64 = 0
    private var emptyReads: [String: (generation: UInt64, at: ContinuousClock.Instant)] = [:]

    public init() {}

    /// Registers a poll of `serverID`; the ticket stays current until a newer poll replaces it.
    func begin(serverID: String) -> UInt64 {
        issued += 1
        current[serverID] = issued
        return issued
    }

    func isCurrent(serverID: String, ticket: UInt64) -> Bool { current[serverID] == ticket }

    func end(serverID: String, ticket: UInt64) {
        if current[serverID] == ticket { current[serverID] = nil }
    }

    /// A read at bell `generation` found no command for `serverID`.
    func noteEmpty(serverID: String, generation: UInt64, at instant: ContinuousClock.Instant) {
        emptyReads[serverID] = (generation, instant)
    }

    /// True when a read at this very `generation`, younger than `freshness`, found nothing.
    func knownEmpty(serverID: String, generation: UInt64, now: ContinuousClock.Instant, freshness: Duration) -> Bool {
        guard let read = emptyReads[serverID] else { return false }
        if read.generation == generation && now - read.at < freshness { return true }
        emptyReads[serverID] = nil
        return false
    }
}

/// Server-sent event streams held open: at most `perSession` per browser session and `total` in
/// all; beyond that a new stream is refused (429) instead of holding another connection for hours.
public actor EventStreamSlots {
    public let perSession: Int
    public let total: Int
    private var open: [String: Int] = [:]
    private var count = 0

    public init(perSession: Int, total: Int) {
        self.perSession = perSession
        self.total = total
    }

    /// Takes a slot for `session`; false when its share or the hub's is used up.
    func take(session: String) -> Bool {
        guard count < total, open[session, default: 0] < perSession else { return false }
        count += 1
        open[session, default: 0] += 1
        return true
    }

    func release(session: String) {
        guard let held = open[session], held > 0 else { return }
        count -= 1
        open[session] = held == 1 ? nil : held - 1
    }

    /// Streams open now (for tests and metrics).
    var inUse: Int { count }
}

/// How much a request may send, by route: small for JSON, more only where agents upload.
enum BodyLimit {
    /// Any JSON body of the API (jobs, destinations, restores, envelopes…).
    static let json = 64 * 1024
    /// A sealed envelope: up to 64 KiB of ciphertext, base64.
    static let envelope = 128 * 1024
    /// An agent's outbox batch: up to 500 events with their log excerpts.
    static let eventBatch = 1024 * 1024
    /// An agent's Docker stack report (up to 500 stacks with their services, volumes and mounts).
    static let stackReport = 2 * 1024 * 1024
    /// One part of a snapshot listing (the agent sends 5,000 entries a part).
    static let listingPart = 16 * 1024 * 1024
    /// Entries in one part of a snapshot listing.
    static let listingPartEntries = 5000
    /// One part of a download relayed to a browser (the agent sends up to 1 MiB a part).
    static let downloadPart = 1024 * 1024
}
