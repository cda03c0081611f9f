import BackupCore
import Foundation
import Hummingbird
import Store

/// `/backups/recover`: the guided disaster recovery. The lost server's snapshots at offsite
/// destinations, which servers each destination is sealed to, and the three steps — enroll the
/// new server, seal the destination to it, restore a snapshot onto it — each a link to the page
/// that does it. A fixed number of queries.
struct RecoverPage {
    let pages: WebPages

    struct Model {
        let layout: Layout
        let servers: [JobForm.Option]
        let lost: String?
        let newServers: [JobForm.Option]
        let hasNewServers: Bool
        let destinations: [DestinationStep]
        let hasDestinations: Bool
        let snapshots: [SnapshotStep]
        let hasSnapshots: Bool
    }
    struct DestinationStep {
        let id: String
        let name: String
        let kind: String
        let sealedTo: String
        let link: String
        let peerCommand: String?
    }
    struct SnapshotStep {
        let id: String
        let jobName: String
        let created: TimeView
        let copies: [CopyLink]
    }
    struct CopyLink {
        let name: String
        let link: String
    }

    func register(on router: Router<HubRequestContext>) {
        router.page(.get, "/backups/recover", pages: pages) { request, _, caller in
            pages.render(
                "recover", try await model(lost: request.uri.queryParameters.get("server").flatMap { $0.isEmpty ? nil : $0 }, caller: caller))
        }
    }

    func model(lost reference: String?, caller: PageCaller) async throws -> Model {
        let accountID = caller.account.id
        let now = pages.now
        let servers = try await pages.store.servers(accountID: accountID).sorted { $0.name < $1.name }
        let lost = reference.flatMap { id in servers.first { $0.id == id || $0.name == id } }
        let destinations = try await pages.store.destinations(accountID: accountID)
        let envelopes = try await pages.store.envelopes(accountID: accountID)
        // Job names of the lost server only (before one is chosen, nothing: not every job of the fleet).
        let lostJobs = try await lost.asyncFlatMap { try await pages.store.jobs(accountID: accountID, serverID: $0.id, destinationID: nil) } ?? []
        let jobs = Dictionary(uniqueKeysWithValues: lostJobs.map { ($0.id, $0.name) })
        let snapshots =
            try await lost.asyncFlatMap {
                try await pages.store.snapshots(accountID: accountID, filter: SnapshotFilter(serverID: $0.id), after: nil, limit: 20).items
            } ?? []
        // A lost server's data can come back elsewhere from copies other servers can open.
        let portable = Dictionary(uniqueKeysWithValues: destinations.filter(\.kind.isOffsite).map { ($0.id, $0) })
        let names = Dictionary(uniqueKeysWithValues: servers.map { ($0.id, $0.name) })
        let used = Set(snapshots.flatMap { $0.copies.map(\.destinationID) }).filter { portable[$0] != nil }
        let steps = used.compactMap { portable[$0] }.sorted { $0.name < $1.name }.map { destination in
            let sealed = envelopes.filter { $0.destinationID == destination.id }.compactMap { names[$0.serverID] }.sorted()
            return DestinationStep(
                id: destination.id, name: destination.name, kind: destination.kind.title, sealedTo: sealed.joined(separator: ", "),
                link: "/backups/destinations/\(destination.id)",
                peerCommand: destination.kind == .peer
                    ? "mzpanel destinations attach \(destination.name) --server NEW --recover-from \(lost?.name ?? "LOST")" : nil)
        }
        let rows = snapshots.compactMap { snapshot -> SnapshotStep? in
            let copies = snapshot.copies.filter { portable[$0.destinationID] != nil }.map { copy in
                CopyLink(
                    name: portable[copy.destinationID]?.name ?? copy.destinationID,
                    link: "/backups/snapshots/\(snapshot.id)?destination=\(copy.destinationID)")
            }
            return copies.isEmpty
                ? nil
                : SnapshotStep(
                    id: snapshot.id, jobName: jobs[snapshot.jobID] ?? "deleted job", created: TimeView(snapshot.createdAt, now: now), copies: copies)
        }
        let candidates = servers.filter { $0.id != lost?.id && $0.enrolledAt != nil }
        return Model(
            layout: Layout("Recover a server", section: "hub", caller: caller),
            servers: servers.map {
                JobForm.Option(value: $0.id, label: $0.name + ($0.isOnline(now: now) ? "" : " (offline)"), selected: $0.id == lost?.id)
            },
            lost: lost?.name, newServers: candidates.map { JobForm.Option(value: $0.id, label: $0.name, selected: false) },
            hasNewServers: !candidates.isEmpty,
            destinations: steps, hasDestinations: !steps.isEmpty, snapshots: rows, hasSnapshots: !rows.isEmpty)
    }
}
