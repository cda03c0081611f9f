/// Wakes whoever waits for a server's commands (an agent's long-poll) as soon as one is queued,
/// so a waiting poll needs no query on a timer. The store rings it after the command's
/// transaction commits (and, on PostgreSQL, when another replica's commit is notified); a poll
/// rings it when it replaces an older poll of the same server. Each ring counts a generation per
/// server: a poll notes it before reading the store and waits only while it is unchanged, so a
/// ring between the read and the wait is not lost. A waiter still asks the store now and then (a
/// slow safety poll) for what no ring announced.
public actor CommandBell {
    private var waiters: [String: [Int: CheckedContinuation<Void, Never>]] = [:]
    private var generations: [String: UInt64] = [:]
    private var allGeneration: UInt64 = 0
    /// Rings of any key so far: a reader that cannot name its key before it reads notes this instead.
    public private(set) var rings: UInt64 = 0
    /// Waits that ended (rung or timed out) before their continuation was registered.
    private var ended: Set<Int> = []
    private var issued = 0

    public init() {}

    /// Wakes every waiter of `serverID`.
    public func ring(_ serverID: String) {
        rings &+= 1
        generations[serverID, default: 0] &+= 1
        wake(serverID)
    }

    /// Wakes every waiter of `key` without counting a ring: what a waiter read stays valid (a newer
    /// long-poll of the same server ends the older one this way).
    public func wake(_ key: String) {
        for (_, waiter) in waiters.removeValue(forKey: key) ?? [:] { waiter.resume() }
    }

    /// What a poll notes before it reads the store: `wait(for:since:upTo:)` returns at once when a
    /// ring came after it.
    public func generation(of serverID: String) -> UInt64 { (generations[serverID] ?? 0) &+ allGeneration }

    /// Wakes every waiter (notifications may have been missed).
    public func ringAll() {
        rings &+= 1
        allGeneration &+= 1
        let all = waiters
        waiters = [:]
        for (_, list) in all { for (_, waiter) in list { waiter.resume() } }
    }

    /// Returns when `serverID` is rung, or after `limit` — at once when it was rung since `since`.
    public func wait(for serverID: String, since: UInt64? = nil, upTo limit: Duration) async {
        if let since, generation(of: serverID) != since { return }
        let id = next()
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.suspend(serverID, id) }
            group.addTask {
                try? await Task.sleep(for: limit)
                await self.release(serverID, id)
            }
            await group.next()
            group.cancelAll()
            release(serverID, id)
        }
        ended.remove(id)
    }

    /// How many waits are registered (tests and metrics).
    public var waiting: Int { waiters.values.reduce(0) { $0 + $1.count } }

    private func next() -> Int {
        issued += 1
        return issued
    }

    private func suspend(_ serverID: String, _ id: Int) async {
        await withCheckedContinuation { continuation in
            if ended.contains(id) {
                continuation.resume()
            } else {
                waiters[serverID, default: [:]][id] = continuation
            }
        }
    }

    private func release(_ serverID: String, _ id: Int) {
        if let waiter = waiters[serverID]?.removeValue(forKey: id) {
            waiter.resume()
        } else {
            ended.insert(id)
        }
        if waiters[serverID]?.isEmpty == true { waiters[serverID] = nil }
    }
}
