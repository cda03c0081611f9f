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
        let upload = try await request.decodeJSON(ListingUpload.self, context: context, limit: 16 * 1024 * 1024)
        let snapshot = try context.parameter("snapshot")
        guard
            try await hub.store.appendListing(
                serverID: server.id, snapshotID: snapshot, destinationID: upload.destinationID, entries: upload.entries,
                done: upload.done, error: upload.error, now: hub.clock.now())
        else {
            throw APIError(.notFound, code: "not_found", "no listing of \(snapshot) is waiting for this server")
        }
        return JSONBody(Deleted())
    }
}
