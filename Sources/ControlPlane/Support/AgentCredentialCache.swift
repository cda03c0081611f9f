import BackupCore
import Foundation
import Store

/// Agent credentials this replica checked lately, for the calls an idle agent repeats all day (its
/// command long-poll): a hit saves the credential lookup, the most frequent query of an idle fleet.
/// An entry lasts `lifetime` at most and is dropped as soon as its server's credential changes or
/// goes — enrolment or removal, on this replica or another (the store's `credentialBell`, through
/// LISTEN/NOTIFY; a lost listener connection rings every server). Only the server's id, account and
/// heartbeat are read from an entry: calls that act on the server's state look it up afresh.
actor AgentCredentialCache {
    struct Entry {
        var server: Server
        let generation: UInt64
        let checkedAt: ContinuousClock.Instant
    }

    private var entries: [String: Entry] = [:]
    let lifetime: Duration
    let capacity: Int

    init(lifetime: Duration = .seconds(60), capacity: Int = 100_000) {
        self.lifetime = lifetime
        self.capacity = capacity
    }

    /// The server `hash` was found to belong to, if that is still known to be true.
    func server(hash: String, bell: CommandBell) async -> Server? {
        guard let entry = entries[hash] else { return nil }
        guard ContinuousClock.now - entry.checkedAt < lifetime, await bell.generation(of: entry.server.id) == entry.generation else {
            entries[hash] = nil
            return nil
        }
        return entry.server
    }

    /// Remembers a lookup; `generation` is the server's credential generation noted before it.
    func remember(_ server: Server, hash: String, generation: UInt64) {
        if entries.count >= capacity { entries.removeAll(keepingCapacity: true) }
        entries[hash] = Entry(server: server, generation: generation, checkedAt: .now)
    }

    /// The heartbeat this replica wrote, so the next hit knows when the server was last seen.
    func seen(hash: String, server: Server) {
        entries[hash]?.server = server
    }

    var count: Int { entries.count }
}
