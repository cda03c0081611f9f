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

    static let pageSize = 1000

    func register(on api: inout APIRouter) {
        api.on(.get, "/api/v1/snapshots/{snapshot}/tree", summary: "One folder of a snapshot copy (lists the snapshot on first use: 202 until ready)",
               tag: "snapshots", response: "SnapshotTree", query: ["path", "destination", "after", "refresh"]) { request, context in
            let query = QueryParameters(request: request)
            let view = try await tree(snapshot: try context.parameter("snapshot"), path: query.string("path"), destination: query.string("destination"),
                                      after: query.string("after"), refresh: query.string("refresh") == "1", accountID: try context.accountID())
            return JSONBody(view, status: view.status == .listing ? .accepted : .ok)
        }
        api.on(.post, "/api/agent/v1/listings/{snapshot}", summary: "The agent uploads part of a snapshot listing it was asked for",
               tag: "agent", body: "ListingUpload", response: "Deleted") { request, context in
            let server = try await AgentRoutes(hub: hub).agent(request)
            let upload = try await request.decodeJSON(ListingUpload.self, context: context, limit: 16 * 1024 * 1024)
            let snapshot = try context.parameter("snapshot")
            guard try await hub.store.appendListing(serverID: server.id, snapshotID: snapshot, destinationID: upload.destinationID, entries: upload.entries,
                                                    done: upload.done, error: upload.error, now: hub.clock.now()) else {
                throw APIError(.notFound, code: "not_found", "no listing of \(snapshot) is waiting for this server")
            }
            return JSONBody(Deleted())
        }
    }

    func tree(snapshot reference: String, path: String?, destination: String?, after: String?, refresh: Bool, accountID: String) async throws -> TreeView {
        let folder: String
        do { folder = try SnapshotEntry.normalized(path) } catch { throw APIError(error) }
        let copies = SnapshotCopies(hub: hub)
        let (snapshot, copy, target) = try await copies.resolve(snapshot: reference, destination: destination, accountID: accountID, inPath: true)
        var listing = try await hub.store.listing(accountID: accountID, snapshotID: snapshot.id, destinationID: target.id)
        // A listing that has not moved for ten minutes (agent gone) may be asked again.
        let stuck = listing.map { $0.status == .listing && hub.clock.now().timeIntervalSince($0.requestedAt) > 600 } ?? false
        if listing == nil || refresh || stuck {
            try await requestListing(snapshot, copy: copy, destination: target, accountID: accountID)
            listing = try await hub.store.listing(accountID: accountID, snapshotID: snapshot.id, destinationID: target.id)
        }
        guard let listing else { throw APIError(.conflict, code: "no_listing", "the listing could not be started") }
        // A listing waits for the snapshot's server: say so when it is offline instead of spinning.
        var waiting: String?
        if listing.status == .listing, let server = try await hub.store.server(accountID: accountID, reference: snapshot.serverID),
           !server.isOnline(now: hub.clock.now()) {
            waiting = "\(server.name) is offline; the snapshot is listed when its agent is back (or restore it onto another server)"
        }
        var entries: [SnapshotEntry] = []
        if listing.status == .ready {
            entries = try await hub.store.snapshotEntries(accountID: accountID, snapshotID: snapshot.id, destinationID: target.id, parent: folder,
                                                          after: after, limit: Self.pageSize + 1)
        }
        let more = entries.count > Self.pageSize
        if more { entries.removeLast() }
        return TreeView(snapshotID: snapshot.id, destinationID: target.id, status: listing.status, path: folder, entries: entries.map(EntryView.init),
                        listed: listing.entries, error: listing.error ?? waiting, nextAfter: more ? entries.last?.name : nil)
    }

    /// Asks the snapshot's own server to list the copy (it holds the repository's password).
    func requestListing(_ snapshot: Snapshot, copy: SnapshotCopy, destination: Destination, accountID: String) async throws {
        guard let server = try await hub.store.server(accountID: accountID, reference: snapshot.serverID) else {
            throw APIError(.conflict, code: "server_gone", "the server that made snapshot \(snapshot.id) was removed; restore it onto another server from an offsite copy instead")
        }
        let (envelope, certificate) = try await SnapshotCopies(hub: hub).access(destination, snapshot: snapshot, server: server, accountID: accountID)
        let now = hub.clock.now()
        try await hub.store.startListing(accountID: accountID, snapshotID: snapshot.id, destinationID: destination.id, serverID: server.id, now: now)
        let order = ListingOrder(snapshotID: snapshot.id, sourceServerID: snapshot.serverID, destination: destination, resticSnapshotIDs: copy.resticSnapshotIDs,
                                 envelope: envelope, peerCertificate: certificate)
        try await hub.store.enqueueCommand(AgentCommand(id: ResourceID.make(.command), kind: .listSnapshot, createdAt: now, listing: order),
                                           accountID: accountID, serverID: server.id)
    }
}
