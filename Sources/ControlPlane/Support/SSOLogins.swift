import Foundation
import HubAPI
import Store
import Synchronization

/// Single sign-ons under way: for each `state` sent to a provider, the account, the nonce, the
/// PKCE verifier, the browser that started it (the hash of its `mzpanel_sso` cookie) and what it
/// is for. They are tickets in the database (`TicketStore`, keyed by the SHA-256 of the state), so
/// the provider may send the browser back to any hub replica. Each is taken once and lives 10
/// minutes; after a verified sign-in of a member with two-factor sign-in on, the code step waits
/// the same way (keyed by the hash of its ticket cookie).
final class SSOLogins: Sendable {
    struct Pending: Codable, Sendable {
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
    struct AwaitingCode: Codable, Sendable {
        let userID: String
        let browser: String
        let next: String
        let createdAt: Date
    }

    static let lifetime: TimeInterval = 600
    private static let pendingKind = "sso-state"
    private static let codeKind = "sso-code"

    private let store: any TicketStore

    init(store: any TicketStore) { self.store = store }

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

    /// Keeps a sign-in under its state.
    func add(state key: String, _ pending: Pending) async throws {
        try await store.putTicket(
            kind: Self.pendingKind, key: Secrets.hash(key), payload: try Self.encode(pending), createdAt: pending.createdAt,
            dropBefore: pending.createdAt.addingTimeInterval(-Self.lifetime))
    }

    /// Takes the sign-in of this state (once), if it is young enough.
    func take(state key: String, now: Date) async throws -> Pending? {
        guard
            let payload = try await store.ticket(
                kind: Self.pendingKind, key: Secrets.hash(key), notBefore: now.addingTimeInterval(-Self.lifetime), take: true)
        else { return nil }
        return try? Self.decode(Pending.self, payload)
    }

    /// `ticket` is already a hash (of the code step's cookie).
    func awaitCode(ticket: String, _ waiting: AwaitingCode) async throws {
        try await store.putTicket(
            kind: Self.codeKind, key: ticket, payload: try Self.encode(waiting), createdAt: waiting.createdAt,
            dropBefore: waiting.createdAt.addingTimeInterval(-Self.lifetime))
    }

    /// The sign-in waiting for a code under this ticket (kept until `finish`, so a wrong code can be typed again).
    func awaiting(ticket: String, now: Date) async throws -> AwaitingCode? {
        guard let payload = try await store.ticket(kind: Self.codeKind, key: ticket, notBefore: now.addingTimeInterval(-Self.lifetime), take: false)
        else { return nil }
        return try? Self.decode(AwaitingCode.self, payload)
    }

    func finish(ticket: String) async throws {
        try await store.deleteTicket(kind: Self.codeKind, key: ticket)
    }

    private static func encode<T: Encodable>(_ value: T) throws -> String {
        String(decoding: try HubJSON.encoder().encode(value), as: UTF8.self)
    }

    private static func decode<T: Decodable>(_ type: T.Type, _ text: String) throws -> T {
        try HubJSON.decoder().decode(type, from: Data(text.utf8))
    }
}
