/// Wakes whoever waits for a server's commands (an agent's long-poll) as soon as one is queued,
/// so a waiting poll needs no query on a timer. The store rings it after the command's
/// transaction commits; a poll rings it when it replaces an older poll of the same server.
/// Only this process hears it: a waiter still asks the store now and then (a slow safety poll).
public actor CommandBell {
    private var waiters: [String: [Int: CheckedContinuation<Void, Never>]] = [:]
    /// Waits that ended (rung or timed out) before their continuation was registered.
    private var ended: Set<Int> = []
    private var issued = 0

    public init() {}

    /// Wakes every waiter of `serverID`.
    public func ring(_ serverID: String) {
        for (_, waiter) in waiters.removeValue(forKey: serverID) ?? [:] { waiter.resume() }
    }

    /// Returns when `serverID` is rung, or after `limit`.
    public func wait(for serverID: String, upTo limit: Duration) async {
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
