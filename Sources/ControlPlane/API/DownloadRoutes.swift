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

    func register(on api: inout APIRouter) {
        api.on(
            .get, "/api/v1/snapshots/{snapshot}/download",
            summary: "Download a file (as is) or folder (tar or zip) of a snapshot, streamed from its server",
            tag: "snapshots", response: "Binary", query: ["path", "format", "destination"], download)
        api.on(
            .post, "/api/agent/v1/downloads/{download}", summary: "The agent sends the next part of a download (raw bytes; seq, done, error)",
            tag: "agent", body: "Binary", response: "Deleted", query: ["seq", "done", "error"], uploadPart)
    }

    @Sendable func download(_ request: Request, _ context: HubRequestContext) async throws -> some ResponseGenerator {
        let query = QueryParameters(request: request)
        return try await DownloadService(hub: hub).start(
            snapshot: try context.parameter("snapshot"), path: query.string("path"), format: query.string("format"),
            destination: query.string("destination"), accountID: try context.accountID(), caller: context.caller
        )
        .response(relay: hub.downloads)
    }

    static let gone = APIError(.notFound, code: "not_found", "no download is waiting for this part (the browser left, or it is another server's)")

    @Sendable func uploadPart(_ request: Request, _ context: HubRequestContext) async throws -> some ResponseGenerator {
        let server = try await AgentRoutes(hub: hub).agent(request)
        let id = try context.parameter("download")
        guard await hub.downloads.mayWait(id: id, serverID: server.id) else { throw Self.gone }
        let query = QueryParameters(request: request)
        guard let sequence = try query.int("seq"), sequence >= 0 else {
            throw APIError.badRequest("seq (the part's number, from 0) is required", field: "seq")
        }
        var request = request
        let part: ByteBuffer
        do {
            part = try await request.collectBody(upTo: BodyLimit.downloadPart)
        } catch {
            throw APIError(.contentTooLarge, code: "too_large", "a download part is at most \(BodyLimit.downloadPart / 1024) KiB")
        }
        let outcome = try await hub.downloads.push(
            id: id, serverID: server.id, sequence: sequence, part: part, done: query.string("done") == "1",
            error: query.string("error"))
        switch outcome {
        case .queued:
            return JSONBody(Deleted())
        case .gone:
            throw Self.gone
        case .stalled:
            throw APIError(
                .serviceUnavailable, code: "stalled",
                "the hub replica holding the browser's download took no part for a minute (it stopped, or the browser stalled); the download must be started again"
            )
        case .outOfOrder(let expected):
            throw APIError(.conflict, code: "out_of_order", "part \(sequence) is out of order; the download expects part \(expected)", field: "seq")
        }
    }
}
