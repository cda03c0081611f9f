import Foundation
import HTTPTypes
import HummingbirdBcrypt
import NIOPosix
import Synchronization

/// bcrypt on its own small thread pool, so a flood of logins queues here instead of taking the
/// threads other requests need (NIO's shared pool also serves file I/O). At most `maxPending`
/// checks wait or run at once; more answer 429 at once. An unknown email (or a user without a
/// password) is checked against a dummy hash of the same cost, so it takes as long as a wrong password.
public final class PasswordHasher: Sendable {
    /// The hub's hasher: two threads, 32 waiting checks at most.
    public static let shared = PasswordHasher(threads: 2, maxPending: 32)

    private let pool: NIOThreadPool
    private let maxPending: Int
    private let pending = Atomic<Int>(0)
    private let checks = Atomic<Int>(0)
    private let dummies = Mutex<[UInt8: String]>([:])

    public init(threads: Int, maxPending: Int) {
        pool = NIOThreadPool(numberOfThreads: threads)
        pool.start()
        self.maxPending = maxPending
    }

    /// How many password checks have run a bcrypt comparison (each login attempt that was not refused early).
    public var checkCount: Int { checks.load(ordering: .relaxed) }

    /// A new bcrypt hash of the password.
    public func hash(_ password: String, cost: UInt8) async throws -> String {
        try await run { Bcrypt.hash(password, cost: cost) }
    }

    /// Whether the password matches `hash`; with no hash (unknown email, or "!" for no password)
    /// it compares against a dummy hash of `cost` all the same and answers false.
    public func verify(_ password: String, hash: String?, cost: UInt8) async throws -> Bool {
        let real = hash.flatMap { $0 == "!" ? nil : $0 }
        let target: String
        if let real { target = real } else { target = try await dummyHash(cost: cost) }
        checks.add(1, ordering: .relaxed)
        let matched = try await run { Bcrypt.verify(password, hash: target) }
        return real != nil && matched
    }

    private func dummyHash(cost: UInt8) async throws -> String {
        if let known = dummies.withLock({ $0[cost] }) { return known }
        let made = try await run { Bcrypt.hash("mzpanel-unknown-user-\(UUID().uuidString)", cost: cost) }
        dummies.withLock { $0[cost] = made }
        return made
    }

    private func run<T: Sendable>(_ work: @escaping @Sendable () -> T) async throws -> T {
        let before = pending.add(1, ordering: .relaxed).oldValue
        defer { pending.subtract(1, ordering: .relaxed) }
        guard before < maxPending else {
            var busy = APIError(.tooManyRequests, code: "too_many_requests", "the hub is checking many logins at once; try again in a second")
            busy.headers[.retryAfter] = "1"
            throw busy
        }
        return try await pool.runIfActive(work)
    }
}
