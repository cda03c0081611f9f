import BackupCore
import Foundation
import HubAPI
import Hummingbird
import LinkProtocol
import Store

/// Browsing a snapshot copy: the first look asks the snapshot's server to list it once
/// (`restic ls`, uploaded in parts); every folder after that is one indexed query on the hub.
struct BrowseRoutes {
    let hub: HubServices

    func register(on api: inout APIRouter) {
        api.on(
            .get, "/api/v1/snapshots/{snapshot}/tree", summary: "One folder of a snapshot copy (lists the snapshot on first use: 202 until ready)",
            tag: "snapshots", response: "SnapshotTree", query: ["path", "destination", "after", "refresh"], tree)
        api.on(
            .post, "/api/agent/v1/listings/{snapshot}", summary: "The agent uploads part of a snapshot listing it was asked for",
            tag: "agent", body: "ListingUpload", response: "Deleted", uploadListing)
    }

    @Sendable func tree(_ request: Request, _ context: HubRequestContext) async throws -> some ResponseGenerator {
        let query = QueryParameters(request: request)
        let view = try await BrowseService(hub: hub).tree(
            snapshot: try context.parameter("snapshot"), path: query.string("path"), destination: query.string("destination"),
            after: query.string("after"), refresh: query.string("refresh") == "1", accountID: try context.accountID())
        return JSONBody(view, status: view.status == .listing ? .accepted : .ok)
    }

    @Sendable func uploadListing(_ request: Request, _ context: HubRequestContext) async throws -> some ResponseGenerator {
        let server = try await AgentRoutes(hub: hub).agent(request)
        var upload = try await request.decodeJSON(ListingUpload.self, context: context, limit: BodyLimit.listingPart)
        let snapshot = try context.parameter("snapshot")
        guard upload.entries.count <= BodyLimit.listingPartEntries else {
            throw APIError(
                .contentTooLarge, code: "too_large",
                "a listing part has at most \(BodyLimit.listingPartEntries) entries, this one \(upload.entries.count)",
                field: "entries")
        }
        // A copy's listing is bounded in all: past the bound it fails with words the browser shows.
        let maximum = hub.configuration.maxListingEntries
        let listed = try await hub.store.listing(accountID: server.accountID, snapshotID: snapshot, destinationID: upload.destinationID)
        let tooBig = listed.map { $0.status == .listing && Int($0.entries) + upload.entries.count > maximum } ?? false
        if tooBig {
            upload = ListingUpload(
                destinationID: upload.destinationID, entries: [], done: true,
                error: "the snapshot has more than \(maximum) entries, more than the hub lists for browsing; restore it with include paths instead")
        }
        guard
            try await hub.store.appendListing(
                serverID: server.id, snapshotID: snapshot, destinationID: upload.destinationID, entries: upload.entries,
                done: upload.done, error: upload.error, now: hub.clock.now())
        else {
            throw APIError(.notFound, code: "not_found", "no listing of \(snapshot) is waiting for this server")
        }
        if tooBig {
            throw APIError(.contentTooLarge, code: "too_large", "the listing is over \(maximum) entries; the hub stopped it", field: "entries")
        }
        return JSONBody(Deleted())
    }
}
