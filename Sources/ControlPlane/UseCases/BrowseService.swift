import BackupCore
import Foundation
import HubAPI
import LinkProtocol
import Store

/// Browsing a snapshot copy: the first look asks the snapshot's server to list it once
/// (`restic ls`, uploaded in parts); every folder after that is one indexed query on the hub.
struct BrowseService {
    let hub: HubServices

    static let pageSize = 1000

    func tree(snapshot reference: String, path: String?, destination: String?, after: String?, refresh: Bool, accountID: String) async throws
        -> TreeView
    {
        let folder: String
        do { folder = try SnapshotEntry.normalized(path) } catch { throw error }
        let copies = SnapshotCopies(hub: hub)
        let (snapshot, copy, target) = try await copies.resolve(snapshot: reference, destination: destination, accountID: accountID, inPath: true)
        // After the lookup: another account's snapshot stays 404 whatever the role.
        try Access.require(.browse)
        var listing = try await hub.store.listing(accountID: accountID, snapshotID: snapshot.id, destinationID: target.id)
        // A listing that has not moved for ten minutes (agent gone) may be asked again.
        let stuck = listing.map { $0.status == .listing && hub.clock.now().timeIntervalSince($0.requestedAt) > 600 } ?? false
        if listing == nil || refresh || stuck {
            try await requestListing(snapshot, copy: copy, destination: target, accountID: accountID)
            listing = try await hub.store.listing(accountID: accountID, snapshotID: snapshot.id, destinationID: target.id)
        }
        guard let listing else { throw DomainError(.conflict, "the listing could not be started", reason: "no_listing") }
        // A listing waits for the snapshot's server: say so when it is offline instead of spinning.
        var waiting: String?
        if listing.status == .listing, let server = try await hub.store.server(accountID: accountID, reference: snapshot.serverID),
            !server.isOnline(now: hub.clock.now())
        {
            waiting = "\(server.name) is offline; the snapshot is listed when its agent is back (or restore it onto another server)"
        }
        var entries: [SnapshotEntry] = []
        if listing.status == .ready {
            entries = try await hub.store.snapshotEntries(
                accountID: accountID, snapshotID: snapshot.id, destinationID: target.id, parent: folder,
                after: after, limit: Self.pageSize + 1)
        }
        let more = entries.count > Self.pageSize
        if more { entries.removeLast() }
        return TreeView(
            snapshotID: snapshot.id, destinationID: target.id, status: listing.status, path: folder, entries: entries.map(EntryView.init),
            listed: listing.entries, error: listing.error ?? waiting, nextAfter: more ? entries.last?.name : nil)
    }

    /// Asks the snapshot's own server to list the copy (it holds the repository's password).
    func requestListing(_ snapshot: Snapshot, copy: SnapshotCopy, destination: Destination, accountID: String) async throws {
        guard let server = try await hub.store.server(accountID: accountID, reference: snapshot.serverID) else {
            throw DomainError(
                .conflict, "the server that made snapshot \(snapshot.id) was removed; restore it onto another server from an offsite copy instead",
                reason: "server_gone")
        }
        let (envelope, certificate) = try await SnapshotCopies(hub: hub).access(destination, snapshot: snapshot, server: server, accountID: accountID)
        let now = hub.clock.now()
        try await hub.store.startListing(accountID: accountID, snapshotID: snapshot.id, destinationID: destination.id, serverID: server.id, now: now)
        let order = ListingOrder(
            snapshotID: snapshot.id, sourceServerID: snapshot.serverID, destination: destination, resticSnapshotIDs: copy.resticSnapshotIDs,
            envelope: envelope, peerCertificate: certificate)
        try await hub.store.enqueueCommand(
            AgentCommand(id: ResourceID.make(.command), kind: .listSnapshot, createdAt: now, listing: order),
            accountID: accountID, serverID: server.id)
    }
}
