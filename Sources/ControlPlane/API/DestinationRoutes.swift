import BackupCore
import Foundation
import HubAPI
import Hummingbird
import Store

/// Destinations (account-wide) and their sealed credential envelopes, one per server. Each
/// handler decodes, calls `DestinationService` and encodes.
struct DestinationRoutes {
    let hub: HubServices
    var destinations: DestinationService { DestinationService(hub: hub) }

    func register(on api: inout APIRouter) {
        api.on(.get, "/api/v1/destinations", summary: "List destinations", tag: "destinations", response: "DestinationList", list)
        api.on(
            .post, "/api/v1/destinations", summary: "Create a destination (offsite kinds need Plus)", tag: "destinations",
            body: "DestinationRequest", response: "Destination", status: 201, create)
        api.on(
            .get, "/api/v1/destinations/{destination}", summary: "Show a destination, the jobs using it and the servers it is sealed to",
            tag: "destinations", response: "DestinationDetail", show)
        api.on(
            .patch, "/api/v1/destinations/{destination}", summary: "Rename a destination or change its settings", tag: "destinations",
            body: "DestinationUpdate", response: "Destination", update)
        api.on(
            .delete, "/api/v1/destinations/{destination}", summary: "Delete a destination no job uses (stored backups are not touched)",
            tag: "destinations", response: "Deleted", delete)
        api.on(
            .put, "/api/v1/destinations/{destination}/manifest",
            summary: "Store the destination's manifest, signed client-side with the account key; agents refuse unsigned or changed destinations",
            tag: "destinations", body: "ManifestRequest", response: "DestinationDetail", sign)
        api.on(
            .get, "/api/v1/destinations/{destination}/stats",
            summary: "Repository statistics over time: total and deduplicated size, snapshot count, growth per day",
            tag: "destinations", response: "DestinationStats", query: ["since"], stats)
        api.on(
            .get, "/api/v1/destinations/{destination}/envelopes", summary: "List the sealed credential envelopes of a destination",
            tag: "destinations", response: "EnvelopeList", envelopes)
        api.on(
            .get, "/api/v1/destinations/{destination}/envelopes/{server}", summary: "Show the envelope sealed to one server",
            tag: "destinations", response: "SealedEnvelope", envelope)
        api.on(
            .put, "/api/v1/destinations/{destination}/envelopes/{server}",
            summary: "Store (or replace) the envelope sealed to one server; opaque to the hub",
            tag: "destinations", body: "EnvelopeRequest", response: "SealedEnvelope", seal)
        api.on(
            .delete, "/api/v1/destinations/{destination}/envelopes/{server}", summary: "Remove the envelope sealed to one server",
            tag: "destinations", response: "Deleted", unseal)
    }

    @Sendable func list(_ request: Request, _ context: HubRequestContext) async throws -> JSONBody<DestinationList> {
        JSONBody(DestinationList(destinations: try await hub.store.destinations(accountID: try context.accountID())))
    }

    @Sendable func create(_ request: Request, _ context: HubRequestContext) async throws -> JSONBody<Destination> {
        let account = try await account(context)
        let body = try await request.decodeJSON(DestinationRequest.self, context: context)
        return JSONBody(try await destinations.create(body, account: account), status: .created)
    }

    @Sendable func stats(_ request: Request, _ context: HubRequestContext) async throws -> JSONBody<DestinationStats> {
        let query = QueryParameters(request: request)
        try query.refuseEmptyValues()
        let destination = try await destination(context)
        let since = try query.date("since") ?? hub.clock.now().addingTimeInterval(-90 * 86_400)
        return JSONBody(try await destinations.stats(destination, since: since))
    }

    @Sendable func show(_ request: Request, _ context: HubRequestContext) async throws -> JSONBody<DestinationView> {
        JSONBody(try await destinations.view(try await destination(context)))
    }

    @Sendable func update(_ request: Request, _ context: HubRequestContext) async throws -> JSONBody<Destination> {
        let account = try await account(context)
        let destination = try await destination(context)
        let body = try await request.decodeJSON(DestinationUpdate.self, context: context)
        return JSONBody(try await destinations.update(destination, with: body, account: account))
    }

    @Sendable func sign(_ request: Request, _ context: HubRequestContext) async throws -> JSONBody<DestinationView> {
        let destination = try await destination(context)
        let body = try await request.decodeJSON(ManifestRequest.self, context: context)
        return JSONBody(try await destinations.view(try await ManifestService(hub: hub).sign(destination, with: body.manifest)))
    }

    @Sendable func delete(_ request: Request, _ context: HubRequestContext) async throws -> JSONBody<Deleted> {
        try await destinations.delete(try await destination(context))
        return JSONBody(Deleted())
    }

    @Sendable func envelopes(_ request: Request, _ context: HubRequestContext) async throws -> JSONBody<EnvelopeList> {
        let destination = try await destination(context)
        return JSONBody(EnvelopeList(envelopes: try await DestinationService(hub: hub).envelopes(of: destination)))
    }

    @Sendable func envelope(_ request: Request, _ context: HubRequestContext) async throws -> JSONBody<SealedEnvelope> {
        let (destination, server) = try await pair(context)
        return JSONBody(try await destinations.envelope(destination, server: server))
    }

    @Sendable func seal(_ request: Request, _ context: HubRequestContext) async throws -> JSONBody<SealedEnvelope> {
        let (destination, server) = try await pair(context)
        let body = try await request.decodeJSON(EnvelopeRequest.self, context: context, limit: BodyLimit.envelope)
        return JSONBody(try await destinations.seal(destination, to: server, with: body))
    }

    @Sendable func unseal(_ request: Request, _ context: HubRequestContext) async throws -> JSONBody<Deleted> {
        let (destination, server) = try await pair(context)
        try await destinations.unseal(destination, from: server)
        return JSONBody(Deleted())
    }

    func account(_ context: HubRequestContext) async throws -> Account {
        guard let account = try await hub.store.account(id: try context.accountID()) else { throw APIError.unauthorized }
        return account
    }

    func destination(_ context: HubRequestContext) async throws -> Destination {
        try await destinations.destination(try context.parameter("destination"), accountID: try context.accountID())
    }

    func pair(_ context: HubRequestContext) async throws -> (Destination, Server) {
        let destination = try await destination(context)
        return (destination, try await destinations.server(try context.parameter("server"), of: destination))
    }
}
