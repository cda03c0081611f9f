import BackupCore
import Foundation
import HubAPI
import Sealing
import Store

/// Destinations (account-wide) and their sealed envelopes as use cases: the API and the
/// destination pages both call these. The hub only ever stores ciphertext.
struct DestinationService {
    let hub: HubServices

    /// Validates and stores a new destination (offsite kinds need Plus).
    func create(_ body: DestinationRequest, account: Account) async throws -> Destination {
        try Access.require(.editDestinations)
        let name = try Name.validate(body.name)
        let kind = try Self.kind(body.kind)
        try account.plan.authorize(kind)
        let settings = try await resolved(try Self.validated(body.settings ?? DestinationSettings(), kind: kind), accountID: account.id)
        let now = hub.clock.now()
        let destination = Destination(
            id: ResourceID.make(.destination), accountID: account.id, name: name, kind: kind,
            settings: settings, createdAt: now, updatedAt: now,
            maxConcurrentRuns: try ConcurrencyCap.validated(body.maxConcurrentRuns, field: "maxConcurrentRuns"))
        try await hub.store.createDestination(destination)
        return destination
    }

    /// The destination with the jobs using it, the servers it is sealed to and its peer report.
    func view(_ destination: Destination) async throws -> DestinationView {
        let jobs = try await hub.store.jobsUsing(accountID: destination.accountID, destinationID: destination.id)
        let envelopes = try await hub.store.envelopes(accountID: destination.accountID, destinationID: destination.id)
        let peer = destination.kind == .peer ? try await hub.store.peerReports(accountID: destination.accountID)[destination.id] : nil
        let accountKey = try await ManifestService(hub: hub).accountKey(accountID: destination.accountID)
        return DestinationView(
            destination: destination, jobs: jobs.map { JobReference(id: $0.id, name: $0.name) },
            sealedTo: envelopes.map(\.serverID), peer: peer, manifestState: ManifestSignature.state(of: destination, accountKey: accountKey))
    }

    /// Renames, changes settings or gives a new credential (whose old envelopes stop being valid); tells the agents.
    func update(_ original: Destination, with body: DestinationUpdate, account: Account) async throws -> Destination {
        try Access.require(.editDestinations)
        if let kind = body.kind, kind != original.kind.rawValue {
            throw DomainError.invalid("kind", "a destination's kind cannot change; create a new destination of kind \(kind)")
        }
        var destination = try await applying(name: body.name, settings: body.settings, to: original, account: account)
        if let cap = body.maxConcurrentRuns { destination.maxConcurrentRuns = try ConcurrencyCap.validated(cap, field: "maxConcurrentRuns") }
        if let key = body.credentialKey {
            destination.credentialKey = try Self.validated(key, kind: destination.kind)
            for envelope in try await hub.store.envelopes(accountID: destination.accountID, destinationID: destination.id) {
                _ = try await hub.store.deleteEnvelope(accountID: destination.accountID, destinationID: destination.id, serverID: envelope.serverID)
            }
        }
        destination.updatedAt = hub.clock.now()
        try await hub.store.updateDestination(destination)
        try await hub.notifyAgents(using: destination)
        return destination
    }

    /// Deletes a destination no job uses (stored backups are not touched).
    func delete(_ destination: Destination) async throws {
        try Access.require(.deleteDestinations)
        guard try await hub.store.deleteDestination(accountID: destination.accountID, id: destination.id) else {
            throw DomainError(.notFound, "no destination \"\(destination.id)\" in this account")
        }
    }

    /// The envelope sealed to one server.
    /// The envelopes sealed to each server (ciphertext a member who may not read secrets does not get).
    func envelopes(of destination: Destination) async throws -> [SealedEnvelope] {
        try Access.require(.readSecrets)
        return try await hub.store.envelopes(accountID: destination.accountID, destinationID: destination.id)
    }

    func envelope(_ destination: Destination, server: Server) async throws -> SealedEnvelope {
        try Access.require(.readSecrets)
        guard
            let envelope = try await hub.store.envelopes(accountID: destination.accountID, destinationID: destination.id)
                .first(where: { $0.serverID == server.id })
        else {
            throw DomainError(.notFound, "destination \(destination.name) is not sealed to server \(server.name)")
        }
        return envelope
    }

    /// Stores (or replaces) the envelope sealed to one server, and tells that server and the peer storage server.
    func seal(_ destination: Destination, to server: Server, with body: EnvelopeRequest) async throws -> SealedEnvelope {
        try Access.require(.editDestinations)
        let envelope = try await validatedEnvelope(body, destination: destination, server: server)
        try await hub.store.putEnvelope(envelope)
        try await notify(destination, server: server)
        return envelope
    }

    /// Removes the envelope sealed to one server.
    func unseal(_ destination: Destination, from server: Server) async throws {
        try Access.require(.editDestinations)
        guard try await hub.store.deleteEnvelope(accountID: destination.accountID, destinationID: destination.id, serverID: server.id) else {
            throw DomainError(.notFound, "destination \(destination.name) is not sealed to server \(server.name)")
        }
        try await notify(destination, server: server)
    }

    private func notify(_ destination: Destination, server: Server) async throws {
        try await hub.notifyAgent(serverID: server.id, accountID: destination.accountID)
        if let storage = destination.settings.peerServerID { try await hub.notifyAgent(serverID: storage, accountID: destination.accountID) }
    }

    /// The destination with this id or name.
    func destination(_ reference: String, accountID: String) async throws -> Destination {
        guard let destination = try await hub.store.destination(accountID: accountID, reference: reference) else {
            throw DomainError(.notFound, "no destination \"\(reference)\" in this account")
        }
        return destination
    }

    /// A server of the destination's account, by id or name.
    func server(_ reference: String, of destination: Destination) async throws -> Server {
        guard let server = try await hub.store.server(accountID: destination.accountID, reference: reference) else {
            throw DomainError(.notFound, "no server \"\(reference)\" in this account")
        }
        return server
    }

    /// A new name and settings, validated (the API's PATCH and the web form share this).
    func applying(name: String?, settings: DestinationSettings?, to original: Destination, account: Account) async throws -> Destination {
        var destination = original
        if let name { destination.name = try Name.validate(name) }
        if let settings {
            try account.plan.authorize(destination.kind)
            destination.settings = try await resolved(try Self.validated(settings, kind: destination.kind), accountID: account.id)
        }
        return destination
    }

    /// Validates settings, naming fields as the request does (`settings.path`).
    static func validated(_ settings: DestinationSettings, kind: DestinationKind) throws -> DestinationSettings {
        do {
            return try settings.validated(for: kind)
        } catch {
            throw error.prefixed("settings")
        }
    }

    /// A key record is for offsite kinds only (a local repository's password stays on its server).
    static func validated(_ key: DestinationKeyRecord?, kind: DestinationKind) throws -> DestinationKeyRecord? {
        guard let key else { return nil }
        guard kind.isOffsite else {
            throw DomainError.invalid(
                "credentialKey", "a local destination has no sealed credential: its repository password is made and kept by the agent")
        }
        do throws(DomainError) {
            return try key.validated()
        } catch {
            throw error.prefixed("credentialKey")
        }
    }

    static func kind(_ text: String) throws -> DestinationKind {
        guard let kind = DestinationKind(rawValue: text.lowercased()) else {
            throw DomainError.invalid(
                "kind", "\"\(text)\" is not a destination kind; use one of \(DestinationKind.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return kind
    }

    /// A peer destination names its storage server by id or name; store the id.
    func resolved(_ settings: DestinationSettings, accountID: String) async throws -> DestinationSettings {
        guard let reference = settings.peerServerID else { return settings }
        guard let server = try await hub.store.server(accountID: accountID, reference: reference) else {
            throw DomainError.invalid("settings.peerServerID", "no server \"\(reference)\" in this account to store peer backups")
        }
        var clean = settings
        clean.peerServerID = server.id
        return clean
    }

    func validatedEnvelope(_ body: EnvelopeRequest, destination: Destination, server: Server) async throws -> SealedEnvelope {
        let keyID = body.keyID.trimmingSpaces
        guard !keyID.isEmpty, keyID.count <= 128 else {
            throw DomainError.invalid("keyID", "keyID must name the server key the envelope is sealed to (1–128 characters)")
        }
        guard (1...100).contains(body.version) else {
            throw DomainError.invalid("version", "version \(body.version) is not an envelope format version this hub knows (1–100)")
        }
        guard let ciphertext = Data(base64Encoded: body.ciphertext), !ciphertext.isEmpty else {
            throw DomainError.invalid("ciphertext", "ciphertext must be non-empty base64")
        }
        guard ciphertext.count <= SealedEnvelope.maxCiphertextBytes else {
            throw DomainError.invalid("ciphertext", "the envelope is \(ciphertext.count) bytes; the limit is \(SealedEnvelope.maxCiphertextBytes)")
        }
        guard destination.kind.isOffsite else {
            throw DomainError.invalid(
                "ciphertext", "destination \(destination.name) is local: its repository password is kept by the agent and needs no envelope")
        }
        guard destination.credentialKey != nil else {
            throw DomainError(
                .conflict, field: "ciphertext",
                "destination \(destination.name) has no credential yet; give it one (credentialKey) before sealing it to servers")
        }
        guard let fingerprint = server.keyFingerprint else {
            throw DomainError(
                .conflict, field: "keyID",
                "server \(server.name) is not enrolled yet, so it has no key to seal to; enroll its agent first, then seal",
                reason: "not_enrolled")
        }
        if fingerprint != keyID {
            throw DomainError(
                .conflict, field: "keyID",
                "the envelope is sealed to key \(keyID) but server \(server.name) has key \(fingerprint); seal it again to the current key")
        }
        var peerLogin: String?
        var recoveryLogin: String?
        if destination.kind == .peer {
            peerLogin = try Self.validatedPeerLogin(body.peerLogin, server: server)
            if let line = body.recoveryLogin {
                let lost = String(line.prefix { $0 != ":" })
                guard let lostServer = try await hub.store.server(accountID: destination.accountID, reference: lost), lostServer.id == lost,
                    lost != server.id
                else {
                    throw DomainError.invalid("recoveryLogin", "recoveryLogin must name another server of this account (\"<server id>:{SHA}…\")")
                }
                recoveryLogin = try Self.validatedPeerLogin(line, server: lostServer, field: "recoveryLogin")
            }
            if server.id == destination.settings.peerServerID {
                throw DomainError.invalid("peerLogin", "server \(server.name) stores this peer destination; it cannot back up into itself")
            }
        } else if body.peerLogin != nil || body.recoveryLogin != nil {
            throw DomainError.invalid("peerLogin", "peerLogin is only for peer destinations")
        }
        return SealedEnvelope(
            accountID: destination.accountID, destinationID: destination.id, serverID: server.id, keyID: keyID,
            version: body.version, ciphertext: ciphertext, peerLogin: peerLogin, recoveryLogin: recoveryLogin, createdAt: hub.clock.now())
    }

    /// `<server id>:{SHA}<base64 of 20 bytes>`: the only htpasswd form accepted (docs/sealing.md).
    static func validatedPeerLogin(_ line: String?, server: Server, field: String = "peerLogin") throws -> String {
        guard let line else {
            throw DomainError.invalid(field, "a peer destination's envelope needs the source server's peerLogin (htpasswd line)")
        }
        let prefix = server.id + ":{SHA}"
        guard line.hasPrefix(prefix), let hash = Data(base64Encoded: String(line.dropFirst(prefix.count))), hash.count == 20 else {
            throw DomainError.invalid(field, "\(field) must be \"\(server.id):{SHA}\" followed by base64 of a SHA-1 digest")
        }
        return line
    }

    /// A destination's repository statistics since `since` (at most 2000 measurements, the newest).
    func stats(_ destination: Destination, since: Date) async throws -> DestinationStats {
        let points = try await hub.store.repositoryStats(accountID: destination.accountID, destinationID: destination.id, since: since, limit: 2000)
        return DestinationStats(
            destinationID: destination.id, current: RepositoryGrowth.current(points), storedBytesPerDay: RepositoryGrowth.storedPerDay(points),
            points: points)
    }
}
