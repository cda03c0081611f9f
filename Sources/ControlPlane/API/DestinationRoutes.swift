import BackupCore
import Foundation
import HubAPI
import Hummingbird
import LinkProtocol
import Store

/// Destinations (account-wide) and their sealed credential envelopes, one per server.
struct DestinationRoutes {
    let hub: HubServices

    func register(on api: inout APIRouter) {
        api.on(.get, "/api/v1/destinations", summary: "List destinations", tag: "destinations", response: "DestinationList") { _, context in
            JSONBody(DestinationList(destinations: try await hub.store.destinations(accountID: try context.accountID())))
        }
        api.on(.post, "/api/v1/destinations", summary: "Create a destination (offsite kinds need Plus)", tag: "destinations",
               body: "DestinationRequest", response: "Destination", status: 201) { request, context in
            let account = try await account(context)
            let body = try await request.decodeJSON(DestinationRequest.self, context: context)
            let name = try Name.validate(body.name)
            let kind = try Self.kind(body.kind)
            try account.plan.authorize(kind)
            let settings = try await resolved(try Self.validated(body.settings ?? DestinationSettings(), kind: kind), accountID: account.id)
            let now = hub.clock.now()
            let destination = Destination(id: ResourceID.make(.destination), accountID: account.id, name: name, kind: kind,
                                          settings: settings, createdAt: now, updatedAt: now)
            try await hub.store.createDestination(destination)
            return JSONBody(destination, status: .created)
        }
        api.on(.get, "/api/v1/destinations/{destination}", summary: "Show a destination, the jobs using it and the servers it is sealed to",
               tag: "destinations", response: "DestinationDetail") { _, context in
            let destination = try await destination(context)
            let jobs = try await hub.store.jobsUsing(accountID: destination.accountID, destinationID: destination.id)
            let envelopes = try await hub.store.envelopes(accountID: destination.accountID, destinationID: destination.id)
            let peer = destination.kind == .peer ? try await hub.store.peerReports(accountID: destination.accountID)[destination.id] : nil
            return JSONBody(DestinationView(destination: destination, jobs: jobs.map { JobReference(id: $0.id, name: $0.name) },
                                            sealedTo: envelopes.map(\.serverID), peer: peer))
        }
        api.on(.patch, "/api/v1/destinations/{destination}", summary: "Rename a destination or change its settings", tag: "destinations",
               body: "DestinationUpdate", response: "Destination") { request, context in
            let account = try await account(context)
            var destination = try await destination(context)
            let body = try await request.decodeJSON(DestinationUpdate.self, context: context)
            if let kind = body.kind, kind != destination.kind.rawValue {
                throw APIError.badRequest("a destination's kind cannot change; create a new destination of kind \(kind)", field: "kind")
            }
            destination = try await applying(name: body.name, settings: body.settings, to: destination, account: account)
            if let key = body.credentialKey {
                // A new credential: envelopes of the old one stop being valid and must be sealed again.
                destination.credentialKey = try Self.validated(key, kind: destination.kind)
                for envelope in try await hub.store.envelopes(accountID: destination.accountID, destinationID: destination.id) {
                    _ = try await hub.store.deleteEnvelope(accountID: destination.accountID, destinationID: destination.id, serverID: envelope.serverID)
                }
            }
            destination.updatedAt = hub.clock.now()
            try await hub.store.updateDestination(destination)
            try await hub.notifyAgents(using: destination)
            return JSONBody(destination)
        }
        api.on(.delete, "/api/v1/destinations/{destination}", summary: "Delete a destination no job uses (stored backups are not touched)",
               tag: "destinations", response: "Deleted") { _, context in
            let destination = try await destination(context)
            guard try await hub.store.deleteDestination(accountID: destination.accountID, id: destination.id) else {
                throw APIError.notFound(.destination, destination.id)
            }
            return JSONBody(Deleted())
        }
        api.on(.get, "/api/v1/destinations/{destination}/envelopes", summary: "List the sealed credential envelopes of a destination",
               tag: "destinations", response: "EnvelopeList") { _, context in
            let destination = try await destination(context)
            return JSONBody(EnvelopeList(envelopes: try await hub.store.envelopes(accountID: destination.accountID, destinationID: destination.id)))
        }
        api.on(.get, "/api/v1/destinations/{destination}/envelopes/{server}", summary: "Show the envelope sealed to one server",
               tag: "destinations", response: "SealedEnvelope") { _, context in
            let (destination, server) = try await pair(context)
            guard let envelope = try await hub.store.envelopes(accountID: destination.accountID, destinationID: destination.id)
                .first(where: { $0.serverID == server.id }) else {
                throw APIError(.notFound, code: "not_found", "destination \(destination.name) is not sealed to server \(server.name)")
            }
            return JSONBody(envelope)
        }
        api.on(.put, "/api/v1/destinations/{destination}/envelopes/{server}", summary: "Store (or replace) the envelope sealed to one server; opaque to the hub",
               tag: "destinations", body: "EnvelopeRequest", response: "SealedEnvelope") { request, context in
            let (destination, server) = try await pair(context)
            let body = try await request.decodeJSON(EnvelopeRequest.self, context: context)
            let envelope = try await validatedEnvelope(body, destination: destination, server: server)
            try await hub.store.putEnvelope(envelope)
            try await hub.notifyAgent(serverID: server.id, accountID: destination.accountID)
            if let storage = destination.settings.peerServerID { try await hub.notifyAgent(serverID: storage, accountID: destination.accountID) }
            return JSONBody(envelope)
        }
        api.on(.delete, "/api/v1/destinations/{destination}/envelopes/{server}", summary: "Remove the envelope sealed to one server",
               tag: "destinations", response: "Deleted") { _, context in
            let (destination, server) = try await pair(context)
            guard try await hub.store.deleteEnvelope(accountID: destination.accountID, destinationID: destination.id, serverID: server.id) else {
                throw APIError(.notFound, code: "not_found", "destination \(destination.name) is not sealed to server \(server.name)")
            }
            try await hub.notifyAgent(serverID: server.id, accountID: destination.accountID)
            if let storage = destination.settings.peerServerID { try await hub.notifyAgent(serverID: storage, accountID: destination.accountID) }
            return JSONBody(Deleted())
        }
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
            throw APIError.badRequest("a local destination has no sealed credential: its repository password is made and kept by the agent", field: "credentialKey")
        }
        do throws(DomainError) {
            return try key.validated()
        } catch {
            throw error.prefixed("credentialKey")
        }
    }

    static func kind(_ text: String) throws -> DestinationKind {
        guard let kind = DestinationKind(rawValue: text.lowercased()) else {
            throw APIError.badRequest("\"\(text)\" is not a destination kind; use one of \(DestinationKind.allCases.map(\.rawValue).joined(separator: ", "))", field: "kind")
        }
        return kind
    }

    func account(_ context: HubRequestContext) async throws -> Account {
        guard let account = try await hub.store.account(id: try context.accountID()) else { throw APIError.unauthorized }
        return account
    }

    func destination(_ context: HubRequestContext) async throws -> Destination {
        let reference = try context.parameter("destination")
        guard let destination = try await hub.store.destination(accountID: try context.accountID(), reference: reference) else {
            throw APIError.notFound(.destination, reference)
        }
        return destination
    }

    func pair(_ context: HubRequestContext) async throws -> (Destination, Server) {
        let destination = try await destination(context)
        let reference = try context.parameter("server")
        guard let server = try await hub.store.server(accountID: destination.accountID, reference: reference) else {
            throw APIError.notFound(.server, reference)
        }
        return (destination, server)
    }

    /// A peer destination names its storage server by id or name; store the id.
    func resolved(_ settings: DestinationSettings, accountID: String) async throws -> DestinationSettings {
        guard let reference = settings.peerServerID else { return settings }
        guard let server = try await hub.store.server(accountID: accountID, reference: reference) else {
            throw APIError(.badRequest, code: "invalid", "no server \"\(reference)\" in this account to store peer backups", field: "settings.peerServerID")
        }
        var clean = settings
        clean.peerServerID = server.id
        return clean
    }

    func validatedEnvelope(_ body: EnvelopeRequest, destination: Destination, server: Server) async throws -> SealedEnvelope {
        let keyID = body.keyID.trimmingSpaces
        guard !keyID.isEmpty, keyID.count <= 128 else {
            throw APIError.badRequest("keyID must name the server key the envelope is sealed to (1–128 characters)", field: "keyID")
        }
        if let fingerprint = server.keyFingerprint, fingerprint != keyID {
            throw APIError(.conflict, code: "conflict", "the envelope is sealed to key \(keyID) but server \(server.name) has key \(fingerprint); seal it again to the current key", field: "keyID")
        }
        guard (1...100).contains(body.version) else {
            throw APIError.badRequest("version \(body.version) is not an envelope format version this hub knows (1–100)", field: "version")
        }
        guard let ciphertext = Data(base64Encoded: body.ciphertext), !ciphertext.isEmpty else {
            throw APIError.badRequest("ciphertext must be non-empty base64", field: "ciphertext")
        }
        guard ciphertext.count <= SealedEnvelope.maxCiphertextBytes else {
            throw APIError.badRequest("the envelope is \(ciphertext.count) bytes; the limit is \(SealedEnvelope.maxCiphertextBytes)", field: "ciphertext")
        }
        guard destination.kind.isOffsite else {
            throw APIError.badRequest("destination \(destination.name) is local: its repository password is kept by the agent and needs no envelope", field: "ciphertext")
        }
        guard destination.credentialKey != nil else {
            throw APIError(.conflict, code: "conflict", "destination \(destination.name) has no credential yet; give it one (credentialKey) before sealing it to servers", field: "ciphertext")
        }
        var peerLogin: String?
        var recoveryLogin: String?
        if destination.kind == .peer {
            peerLogin = try Self.validatedPeerLogin(body.peerLogin, server: server)
            if let line = body.recoveryLogin {
                let lost = String(line.prefix { $0 != ":" })
                guard let lostServer = try await hub.store.server(accountID: destination.accountID, reference: lost), lostServer.id == lost, lost != server.id else {
                    throw APIError.badRequest("recoveryLogin must name another server of this account (\"<server id>:{SHA}…\")", field: "recoveryLogin")
                }
                recoveryLogin = try Self.validatedPeerLogin(line, server: lostServer, field: "recoveryLogin")
            }
            if server.id == destination.settings.peerServerID {
                throw APIError.badRequest("server \(server.name) stores this peer destination; it cannot back up into itself", field: "peerLogin")
            }
        } else if body.peerLogin != nil || body.recoveryLogin != nil {
            throw APIError.badRequest("peerLogin is only for peer destinations", field: "peerLogin")
        }
        return SealedEnvelope(accountID: destination.accountID, destinationID: destination.id, serverID: server.id, keyID: keyID,
                              version: body.version, ciphertext: ciphertext, peerLogin: peerLogin, recoveryLogin: recoveryLogin, createdAt: hub.clock.now())
    }

    /// `<server id>:{SHA}<base64 of 20 bytes>`: the only htpasswd form accepted (docs/sealing.md).
    static func validatedPeerLogin(_ line: String?, server: Server, field: String = "peerLogin") throws -> String {
        guard let line else {
            throw APIError.badRequest("a peer destination's envelope needs the source server's peerLogin (htpasswd line)", field: field)
        }
        let prefix = server.id + ":{SHA}"
        guard line.hasPrefix(prefix), let hash = Data(base64Encoded: String(line.dropFirst(prefix.count))), hash.count == 20 else {
            throw APIError.badRequest("\(field) must be \"\(server.id):{SHA}\" followed by base64 of a SHA-1 digest", field: field)
        }
        return line
    }
}
