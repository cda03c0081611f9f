import Foundation
import Synchronization

/// Single sign-ons under way, in this hub process's memory: for each `state` sent to a provider,
/// the account, the nonce, the PKCE verifier, the browser that started it (the hash of its
/// `mzpanel_sso` cookie) and what it is for. Each is taken once and lives 10 minutes; after a
/// verified sign-in of a member with two-factor sign-in on, the code step waits here the same way.
final class SSOLogins: Sendable {
    struct Pending: Sendable {
        let accountID: String
        let nonce: String
        let verifier: String
        /// SHA-256 of the browser's `mzpanel_sso` cookie: the callback must come from the browser that started.
        let browser: String
        /// The invitation secret when the person accepts an invitation through single sign-on.
        let invitation: String?
        let next: String
        let createdAt: Date
    }

    /// A verified sign-in waiting for the member's two-factor code.
    struct AwaitingCode: Sendable {
        let userID: String
        let browser: String
        let next: String
        let createdAt: Date
    }

    static let lifetime: TimeInterval = 600
    static let capacity = 10_000

    private let state = Mutex<(pending: [String: Pending], codes: [String: AwaitingCode])>(([:], [:]))
    /// Providers' discovery documents by issuer, with when they were read (kept 5 minutes).
    private let discoveries = Mutex<[String: (document: OIDCClient.Discovery, readAt: Date)]>([:])
    static let discoveryLifetime: TimeInterval = 300

    func discovery(issuer: String, now: Date) -> OIDCClient.Discovery? {
        discoveries.withLock { known in
            guard let entry = known[issuer], now.timeIntervalSince(entry.readAt) < Self.discoveryLifetime, now >= entry.readAt else { return nil }
            return entry.document
        }
    }

    func remember(_ document: OIDCClient.Discovery, at now: Date) {
        discoveries.withLock { known in
            if known.count >= 1_000 { known.removeAll() }
            known[document.issuer] = (document, now)
        }
    }

    /// Keeps a sign-in under its state (the oldest go first when full).
    func add(state key: String, _ pending: Pending) {
        state.withLock { table in
            table.pending = table.pending.filter { pending.createdAt.timeIntervalSince($0.value.createdAt) < Self.lifetime }
            if table.pending.count >= Self.capacity, let oldest = table.pending.min(by: { $0.value.createdAt < $1.value.createdAt })?.key {
                table.pending[oldest] = nil
            }
            table.pending[key] = pending
        }
    }

    /// Takes the sign-in of this state (once), if it is young enough.
    func take(state key: String, now: Date) -> Pending? {
        state.withLock { table in
            guard let found = table.pending.removeValue(forKey: key), now.timeIntervalSince(found.createdAt) < Self.lifetime else { return nil }
            return found
        }
    }

    func awaitCode(ticket: String, _ waiting: AwaitingCode) {
        state.withLock { table in
            table.codes = table.codes.filter { waiting.createdAt.timeIntervalSince($0.value.createdAt) < Self.lifetime }
            if table.codes.count >= Self.capacity, let oldest = table.codes.min(by: { $0.value.createdAt < $1.value.createdAt })?.key {
                table.codes[oldest] = nil
            }
            table.codes[ticket] = waiting
        }
    }

    /// The sign-in waiting for a code under this ticket (kept until `finish`, so a wrong code can be typed again).
    func awaiting(ticket: String, now: Date) -> AwaitingCode? {
        state.withLock { table in
            guard let found = table.codes[ticket], now.timeIntervalSince(found.createdAt) < Self.lifetime else { return nil }
            return found
        }
    }

    func finish(ticket: String) {
        state.withLock { table in _ = table.codes.removeValue(forKey: ticket) }
    }
}
