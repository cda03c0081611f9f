import BackupCore
import Foundation
import HTTPTypes
import HubAPI
import Hummingbird
import LinkProtocol
import NIOCore
import Store

/// Downloads: a file of a snapshot as is, a folder as tar or zip, streamed from the snapshot's
/// server through the hub to the browser (`DownloadRelay`), never stored on either. The snapshot
/// must have been browsed (its listing says what the path is and which restic snapshot holds it).
struct DownloadRoutes {
    let hub: HubServices
    /// How long the browser waits for the server to start sending.
    static let startTimeout: Duration = .seconds(60)

    func register(on api: inout APIRouter) {
        api.on(.get, "/api/v1/snapshots/{snapshot}/download", summary: "Download a file (as is) or folder (tar or zip) of a snapshot, streamed from its server",
               tag: "snapshots", response: "Binary", query: ["path", "format", "destination"]) { request, context in
            let query = QueryParameters(request: request)
            return try await download(snapshot: try context.parameter("snapshot"), path: query.string("path"), format: query.string("format"),
                                      destination: query.string("destination"), accountID: try context.accountID(), caller: context.caller)
        }
        api.on(.post, "/api/agent/v1/downloads/{download}", summary: "The agent sends the next part of a download (raw bytes; seq, done, error)",
               tag: "agent", response: "Deleted", query: ["seq", "done", "error"]) { request, context in
            let server = try await AgentRoutes(hub: hub).agent(request)
            var request = request
            let part = try await request.collectBody(upTo: 4 * 1024 * 1024)
            let query = QueryParameters(request: request)
            guard await hub.downloads.push(id: try context.parameter("download"), serverID: server.id, part: part, done: query.string("done") == "1",
                                           error: query.string("error")) else {
                throw APIError(.notFound, code: "not_found", "no download is waiting for this part (the browser left, or it is another server's)")
            }
            return JSONBody(Deleted())
        }
    }

    /// Asks the snapshot's server to send `path`, waits until it starts, and answers the stream.
    func download(snapshot reference: String, path text: String?, format: String?, destination: String?, accountID: String,
                  caller: Caller?) async throws -> Response {
        let path: String
        do { path = try SnapshotEntry.normalized(text) } catch { throw APIError(error) }
        let copies = SnapshotCopies(hub: hub)
        let (snapshot, copy, target) = try await copies.resolve(snapshot: reference, destination: destination, accountID: accountID, inPath: true)
        guard try await hub.store.listing(accountID: accountID, snapshotID: snapshot.id, destinationID: target.id)?.status == .ready else {
            throw APIError(.conflict, code: "not_listed", "browse the snapshot first (mzpanel snapshots browse \(snapshot.id)): a download needs its listing", field: "path")
        }
        guard let entry = try await hub.store.snapshotEntry(accountID: accountID, snapshotID: snapshot.id, destinationID: target.id, path: path),
              let resticID = entry.resticID else {
            throw APIError(.notFound, code: "not_found", "snapshot \(snapshot.id) has no \(path) at \(target.name)")
        }
        let isFolder = entry.type == "dir"
        guard ["file", "dir"].contains(entry.type) else {
            throw APIError.badRequest("\(path) is a \(entry.type), not a file or folder; restore it instead", field: "path")
        }
        let archive = isFolder ? (format ?? "tar") : nil
        guard archive == nil || ["tar", "zip"].contains(archive!) else { throw APIError.badRequest("format is tar or zip", field: "format") }
        guard let server = try await hub.store.server(accountID: accountID, reference: snapshot.serverID) else {
            throw APIError(.conflict, code: "server_gone", "the server that made snapshot \(snapshot.id) was removed; restore the snapshot onto another server instead")
        }
        guard server.isOnline(now: hub.clock.now()) else {
            throw APIError(.conflict, code: "offline", "\(server.name) is offline; a download streams from it, so it must be online", field: "path")
        }
        let (envelope, certificate) = try await copies.access(target, snapshot: snapshot, server: server, accountID: accountID)
        let id = ResourceID.make(.download)
        let stream = await hub.downloads.open(id: id, serverID: server.id)
        let listing = ListingOrder(snapshotID: snapshot.id, sourceServerID: snapshot.serverID, destination: target, resticSnapshotIDs: copy.resticSnapshotIDs,
                                   envelope: envelope, peerCertificate: certificate)
        let order = DownloadOrder(downloadID: id, listing: listing, resticSnapshotID: resticID, path: path, archive: archive)
        try await hub.store.enqueueCommand(AgentCommand(id: ResourceID.make(.command), kind: .download, createdAt: hub.clock.now(), download: order),
                                           accountID: accountID, serverID: server.id)
        // Headers go only once the server has started (or said why it cannot): errors stay errors.
        let parts = PartReader(stream.makeAsyncIterator())
        let first: ByteBuffer?
        do {
            first = try await parts.first(within: Self.startTimeout)
        } catch let failure as DownloadRelay.Failure {
            await hub.downloads.close(id: id)
            throw APIError(.conflict, code: "download_failed", "the server could not send \(path): \(failure.description)")
        } catch {
            await hub.downloads.close(id: id)
            throw APIError(.init(code: 504, reasonPhrase: "Gateway Timeout"), code: "timeout", "\(server.name) did not start sending \(path) within 60 s; is its agent running?")
        }
        if first != nil { await hub.downloads.taken(id: id) }
        if let caller {
            await hub.audit(accountID: accountID, caller: caller, action: "Download from a snapshot", method: "GET", path: "/snapshots/\(snapshot.id)\(path)",
                            status: 200, resourceID: snapshot.id)
        }
        let name = (entry.name.isEmpty ? snapshot.id : entry.name) + (archive.map { "." + $0 } ?? "")
        var headers: HTTPFields = [.contentType: archive == "zip" ? "application/zip" : archive == "tar" ? "application/x-tar" : "application/octet-stream"]
        headers[.contentDisposition] = "attachment; filename=\"\(name.filter { $0 != "\"" && !$0.isNewline })\"; filename*=UTF-8''" + (name.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "download")
        let relay = hub.downloads
        return Response(status: .ok, headers: headers, body: ResponseBody { writer in
            do {
                if let first { try await writer.write(first) }
                while let part = try await parts.next() {
                    try await writer.write(part)
                    await relay.taken(id: id)
                }
                await relay.close(id: id)
                try await writer.finish(nil)
            } catch {
                await relay.close(id: id)  // the agent's next post is refused, and it stops restic
                throw error
            }
        })
    }

    /// The relay's iterator, shared between the first read (with a deadline) and the body writer.
    final class PartReader: @unchecked Sendable {
        private var iterator: AsyncThrowingStream<ByteBuffer, any Error>.AsyncIterator
        init(_ iterator: AsyncThrowingStream<ByteBuffer, any Error>.AsyncIterator) { self.iterator = iterator }

        func next() async throws -> ByteBuffer? { try await iterator.next() }

        func first(within limit: Duration) async throws -> ByteBuffer? {
            try await withThrowingTaskGroup(of: ByteBuffer?.self) { group in
                group.addTask { try await self.next() }
                group.addTask { try await Task.sleep(for: limit); throw CancellationError() }
                defer { group.cancelAll() }
                return try await group.next() ?? nil
            }
        }
    }
}
