import Foundation
import Store

/// Failed logins per key (`account:EMAIL`, `address:IP`) and the backoff they earn: a pure state
/// machine, tested with a hand-moved clock. Each failure from the policy's `freeFailures`-th on
/// blocks the key for `baseDelay × 2^(failures − freeFailures)`, at most `maxDelay`; a key with no
/// failure for `forgetAfter` starts again. A refused attempt is not a failure (it checked nothing).
struct LoginThrottle: Sendable {
    struct Policy: Sendable {
        var freeFailures: Int
        var baseDelay: TimeInterval
        var maxDelay: TimeInterval
        var forgetAfter: TimeInterval
    }

    /// One email: 5 wrong passwords, then 2 s, 4 s, 8 s… up to 15 minutes between attempts.
    static let perAccount = Policy(freeFailures: 5, baseDelay: 2, maxDelay: 900, forgetAfter: 3600)
    /// One client address (several people may share it): 20 failures, then 1 s, 2 s… up to 15 minutes.
    static let perAddress = Policy(freeFailures: 20, baseDelay: 1, maxDelay: 900, forgetAfter: 3600)

    typealias Entry = LoginFailureRecord

    enum Decision: Equatable, Sendable {
        case allowed
        /// Refused: try again after this many seconds.
        case wait(Int)
    }

    private(set) var entries: [String: Entry] = [:]
    /// Keys kept at most; when full, forgotten keys go first, then the oldest failures.
    let capacity: Int

    init(capacity: Int = 50_000, entries: [String: Entry] = [:]) {
        self.capacity = capacity
        self.entries = entries
    }

    /// Whether an attempt with these keys may be checked now.
    func check(_ keys: [(key: String, policy: Policy)], now: Date) -> Decision {
        var wait: TimeInterval = 0
        for (key, policy) in keys {
            guard let entry = entries[key], now.timeIntervalSince(entry.lastFailure) < policy.forgetAfter, let until = entry.blockedUntil else {
                continue
            }
            wait = max(wait, until.timeIntervalSince(now))
        }
        return wait > 0 ? .wait(Int(wait.rounded(.up))) : .allowed
    }

    /// A wrong email or password: counts against every key.
    mutating func failed(_ keys: [(key: String, policy: Policy)], now: Date) {
        for (key, policy) in keys {
            var entry = entries[key] ?? Entry(failures: 0, lastFailure: now, blockedUntil: nil)
            if now.timeIntervalSince(entry.lastFailure) >= policy.forgetAfter { entry = Entry(failures: 0, lastFailure: now, blockedUntil: nil) }
            entry.failures += 1
            entry.lastFailure = now
            if entry.failures >= policy.freeFailures {
                let doublings = Double(min(entry.failures - policy.freeFailures, 30))
                entry.blockedUntil = now.addingTimeInterval(min(policy.baseDelay * pow(2, doublings), policy.maxDelay))
            }
            entries[key] = entry
        }
        if entries.count > capacity { evict(now: now) }
    }

    /// A successful login clears its account's failures (not its address's: one valid account must not
    /// let an address go on guessing others').
    mutating func succeeded(_ key: String) { entries[key] = nil }

    private mutating func evict(now: Date) {
        let longest = max(Self.perAccount.forgetAfter, Self.perAddress.forgetAfter)
        entries = entries.filter { now.timeIntervalSince($0.value.lastFailure) < longest }
        guard entries.count > capacity else { return }
        let oldest = entries.sorted { $0.value.lastFailure < $1.value.lastFailure }.prefix(entries.count - capacity).map(\.key)
        for key in oldest { entries[key] = nil }
    }
}

/// The hub's login throttle, shared by the web form and `POST /api/v1/session`, and by every hub
/// replica: the failures live in the database (`LoginFailureStore`), and `LoginThrottle` decides.
public final class LoginGuard: Sendable {
    private let store: any LoginFailureStore

    public init(store: any LoginFailureStore) { self.store = store }

    static func keys(email: String, address: String?) -> [(key: String, policy: LoginThrottle.Policy)] {
        [("account:" + email, LoginThrottle.perAccount), ("address:" + (address ?? "unknown"), LoginThrottle.perAddress)]
    }

    func check(email: String, address: String?, now: Date) async throws -> LoginThrottle.Decision {
        try await check(Self.keys(email: email, address: address), now: now)
    }

    func failed(email: String, address: String?, now: Date) async throws {
        try await failed(Self.keys(email: email, address: address), now: now)
    }

    /// Single sign-on callbacks: counted per client address only (a state or code has no email until it is verified).
    func check(address: String?, now: Date) async throws -> LoginThrottle.Decision {
        try await check([("address:" + (address ?? "unknown"), LoginThrottle.perAddress)], now: now)
    }

    func failed(address: String?, now: Date) async throws {
        try await failed([("address:" + (address ?? "unknown"), LoginThrottle.perAddress)], now: now)
    }

    private func check(_ keys: [(key: String, policy: LoginThrottle.Policy)], now: Date) async throws -> LoginThrottle.Decision {
        let entries = try await store.loginFailures(keys: keys.map(\.key))
        return LoginThrottle(entries: entries).check(keys, now: now)
    }

    private func failed(_ keys: [(key: String, policy: LoginThrottle.Policy)], now: Date) async throws {
        try await store.updateLoginFailures(keys: keys.map(\.key)) { entries in
            var throttle = LoginThrottle(entries: entries)
            throttle.failed(keys, now: now)
            return throttle.entries
        }
        // Now and then, failures nobody repeated for the longest forget period go.
        if Int.random(in: 0..<64) == 0 {
            let longest = max(LoginThrottle.perAccount.forgetAfter, LoginThrottle.perAddress.forgetAfter)
            try await store.forgetLoginFailures(before: now.addingTimeInterval(-longest))
        }
    }

    func succeeded(email: String) async throws {
        try await store.clearLoginFailures(key: "account:" + email)
    }
}
