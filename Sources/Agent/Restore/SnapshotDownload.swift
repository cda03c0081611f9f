import BackupCore
import Foundation
import LinkProtocol
import Logging
import ResticKit

/// Streams a file or folder of a snapshot copy to the hub for a browser that waits for it:
/// `restic dump` (tar or zip for a folder) in parts of up to 1 MiB, each posted as the hub takes
/// the previous one — nothing is written to disk on the server or the hub.
struct SnapshotDownload: Sendable {
    let state: AgentState
    let link: HubLink
    let logger: Logger

    func run(_ order: DownloadOrder) async {
        let listing = order.listing
        let sequence = Counter()
        do {
            let identity = try state.loadIdentity()
            let access = RepositoryAccess(
                identity: identity, state: state, runID: "download-" + order.downloadID, destinationID: listing.destination.id,
                envelope: listing.envelope, peerCertificate: listing.peerCertificate, repositoryServerID: listing.sourceServerID)
            let restic = try await Restic.detect()
            let repository = try await JobRunner.open(listing.destination, access: access, restic: restic) { logger.info("\($0)") }
            try await restic.dumpChunks(repository, snapshotID: order.resticSnapshotID, path: order.path, archive: order.archive) { chunk in
                try await link.sendDownloadPart(downloadID: order.downloadID, sequence: sequence.next(), data: chunk, done: false)
            }
            try await link.sendDownloadPart(downloadID: order.downloadID, sequence: sequence.next(), data: Data(), done: true)
            logger.info("sent a download to the hub", metadata: ["snapshot.id": "\(listing.snapshotID)", "download.id": "\(order.downloadID)"])
        } catch {
            let words = DestinationCopy.words(error)
            logger.warning(
                "a download stopped", metadata: ["snapshot.id": "\(listing.snapshotID)", "download.id": "\(order.downloadID)", "error": "\(words)"])
            try? await link.sendDownloadPart(downloadID: order.downloadID, sequence: sequence.next(), data: Data(), done: true, error: words)
        }
    }

    final class Counter: @unchecked Sendable {
        private let lock = NSLock()
        private var value = 0
        func next() -> Int {
            lock.withLock {
                defer { value += 1 }
                return value
            }
        }
    }
}
