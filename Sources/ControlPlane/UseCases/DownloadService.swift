import BackupCore
import Foundation
import HubAPI
import LinkProtocol
import NIOCore
import Store

/// Downloads: a file of a snapshot as is, a folder as tar or zip, streamed from the snapshot's
/// server through the hub (`DownloadRelay`), never stored. The snapshot must have been browsed
/// (its listing says what the path is and which restic snapshot holds it).
struct DownloadService {
    let hub: HubServices
    /// How long the browser waits for the server to start sending.
    static let startTimeout: Duration = .seconds(60)

    /// Asks the snapshot's server to send `path` and waits until it starts (or says why it cannot).
    func start(
        snapshot reference: String, path text: String?, format: String?, destination: String?, accountID: String,
        caller: Caller?
    ) async throws -> StartedDownload {
        let path: String
        do { path = try SnapshotEntry.normalized(text) } catch { throw error }
        let copies = SnapshotCopies(hub: hub)
        let (snapshot, copy, target) = try await copies.resolve(snapshot: reference, destination: destination, accountID: accountID, inPath: true)
        // After the lookup: another account's snapshot stays 404 whatever the role.
        try Access.require(.download)
        guard try await hub.store.listing(accountID: accountID, snapshotID: snapshot.id, destinationID: target.id)?.status == .ready else {
            throw DomainError(
                .conflict, field: "path", "browse the snapshot first (mzpanel snapshots browse \(snapshot.id)): a download needs its listing",
                reason: "not_listed")
        }
        guard let entry = try await hub.store.snapshotEntry(accountID: accountID, snapshotID: snapshot.id, destinationID: target.id, path: path),
            let resticID = entry.resticID
        else {
            throw DomainError(.notFound, "snapshot \(snapshot.id) has no \(path) at \(target.name)", reason: "not_found")
        }
        let isFolder = entry.type == "dir"
        guard ["file", "dir"].contains(entry.type) else {
            throw DomainError.invalid("path", "\(path) is a \(entry.type), not a file or folder; restore it instead")
        }
        let archive = isFolder ? (format ?? "tar") : nil
        guard archive == nil || ["tar", "zip"].contains(archive!) else { throw DomainError.invalid("format", "format is tar or zip") }
        guard let server = try await hub.store.server(accountID: accountID, reference: snapshot.serverID) else {
            throw DomainError(
                .conflict, "the server that made snapshot \(snapshot.id) was removed; restore the snapshot onto another server instead",
                reason: "server_gone")
        }
        guard server.isOnline(now: hub.clock.now()) else {
            throw DomainError(
                .conflict, field: "path", "\(server.name) is offline; a download streams from it, so it must be online", reason: "offline")
        }
        let (envelope, certificate) = try await copies.access(target, snapshot: snapshot, server: server, accountID: accountID)
        let id = ResourceID.make(.download)
        let stream = try await hub.downloads.open(id: id, serverID: server.id)
        let listing = ListingOrder(
            snapshotID: snapshot.id, sourceServerID: snapshot.serverID, destination: target, resticSnapshotIDs: copy.resticSnapshotIDs,
            envelope: envelope, peerCertificate: certificate)
        let order = DownloadOrder(downloadID: id, listing: listing, resticSnapshotID: resticID, path: path, archive: archive)
        try await hub.store.enqueueCommand(
            AgentCommand(id: ResourceID.make(.command), kind: .download, createdAt: hub.clock.now(), download: order),
            accountID: accountID, serverID: server.id)
        // Headers go only once the server has started (or said why it cannot): errors stay errors.
        let parts = PartReader(stream.makeAsyncIterator())
        let first: ByteBuffer?
        do {
            first = try await parts.first(within: Self.startTimeout)
        } catch let failure as DownloadRelay.Failure {
            await hub.downloads.close(id: id)
            throw DomainError(.conflict, "the server could not send \(path): \(failure.description)", reason: "download_failed")
        } catch {
            await hub.downloads.close(id: id)
            throw DomainError(.timeout, "\(server.name) did not start sending \(path) within 60 s; is its agent running?")
        }
        if first != nil { await hub.downloads.taken(id: id) }
        if let caller {
            await hub.audit(
                accountID: accountID, caller: caller, action: "Download from a snapshot", method: "GET", path: "/snapshots/\(snapshot.id)\(path)",
                status: 200, resourceID: snapshot.id)
        }
        let name = (entry.name.isEmpty ? snapshot.id : entry.name) + (archive.map { "." + $0 } ?? "")
        return StartedDownload(id: id, fileName: name, archive: archive, first: first, parts: parts)
    }
}

/// A download the snapshot's server has started sending: its first part and the rest to come.
struct StartedDownload: Sendable {
    let id: String
    let fileName: String
    /// `tar` or `zip` for a folder, nil for a file.
    let archive: String?
    let first: ByteBuffer?
    let parts: PartReader
}

/// The relay's iterator, shared between the first read (with a deadline) and the body writer.
final class PartReader: @unchecked Sendable {
    private var iterator: AsyncThrowingStream<ByteBuffer, any Error>.AsyncIterator
    init(_ iterator: AsyncThrowingStream<ByteBuffer, any Error>.AsyncIterator) { self.iterator = iterator }

    func next() async throws -> ByteBuffer? { try await iterator.next() }

    func first(within limit: Duration) async throws -> ByteBuffer? {
        try await withThrowingTaskGroup(of: ByteBuffer?.self) { group in
            group.addTask { try await self.next() }
            group.addTask {
                try await Task.sleep(for: limit)
                throw CancellationError()
            }
            defer { group.cancelAll() }
            return try await group.next() ?? nil
        }
    }
}
