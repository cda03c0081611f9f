import BackupCore
import Foundation
import LinkProtocol
import Logging
import ResticKit

/// Lists a snapshot copy for the hub's browser: `restic ls` of each of the copy's restic
/// snapshots, streamed, uploaded in parts of 5,000 entries; the last part says done (or why not).
struct SnapshotLister: Sendable {
    let state: AgentState
    let link: HubLink
    let logger: Logger
    static let partSize = 5000

    func run(_ order: ListingOrder) async {
        let destinationID = order.destination.id
        do {
            let identity = try state.loadIdentity()
            let access = RepositoryAccess(
                identity: identity, state: state, runID: "listing-" + order.snapshotID, destinationID: destinationID,
                envelope: order.envelope, peerCertificate: order.peerCertificate, repositoryServerID: order.sourceServerID)
            let restic = try await Restic.detect()
            let repository = try await JobRunner.open(order.destination, access: access, restic: restic) { logger.info("\($0)") }
            let buffer = Parts()
            for id in order.resticSnapshotIDs {
                try await restic.ls(repository, snapshotID: id) { node in
                    let (parent, name) = SnapshotEntry.split(node.path)
                    buffer.add(
                        SnapshotEntry(
                            parent: parent, name: name, type: node.type, size: node.size, mode: Int(node.mode & 0o777),
                            modifiedAt: node.modifiedAt, resticID: id))
                }
                // Each restic snapshot's entries go up in parts as soon as it is listed.
                for part in buffer.take(keepingUnder: Self.partSize) {
                    try await link.uploadListing(
                        snapshotID: order.snapshotID, ListingUpload(destinationID: destinationID, entries: part, done: false))
                }
            }
            let rest = buffer.take(keepingUnder: 1).flatMap { $0 }
            try await link.uploadListing(snapshotID: order.snapshotID, ListingUpload(destinationID: destinationID, entries: rest, done: true))
            logger.info(
                "listed a snapshot for the hub's browser", metadata: ["snapshot.id": "\(order.snapshotID)", "destination.id": "\(destinationID)"])
        } catch {
            let words = DestinationCopy.words(error)
            logger.warning("could not list a snapshot", metadata: ["snapshot.id": "\(order.snapshotID)", "error": "\(words)"])
            try? await link.uploadListing(
                snapshotID: order.snapshotID, ListingUpload(destinationID: destinationID, entries: [], done: true, error: words))
        }
    }

    /// Entries gathered from restic's output thread, handed out in parts.
    final class Parts: @unchecked Sendable {
        private let lock = NSLock()
        private var entries: [SnapshotEntry] = []
        func add(_ entry: SnapshotEntry) { lock.withLock { entries.append(entry) } }

        /// Full parts of `size`, or everything when `size` is 1 (the last call).
        func take(keepingUnder size: Int) -> [[SnapshotEntry]] {
            lock.withLock {
                if size <= 1 {
                    defer { entries = [] }
                    return [entries]
                }
                var parts: [[SnapshotEntry]] = []
                while entries.count >= size {
                    parts.append(Array(entries.prefix(size)))
                    entries.removeFirst(size)
                }
                return parts
            }
        }
    }
}
