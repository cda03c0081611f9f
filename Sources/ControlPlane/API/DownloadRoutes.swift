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
            tag: "agent", response: "Deleted", query: ["seq", "done", "error"], uploadPart)
    }

    @Sendable func download(_ request: Request, _ context: HubRequestContext) async throws -> some ResponseGenerator {
        let query = QueryParameters(request: request)
        return try await DownloadService(hub: hub).start(
            snapshot: try context.parameter("snapshot"), path: query.string("path"), format: query.string("format"),
            destination: query.string("destination"), accountID: try context.accountID(), caller: context.caller
        )
        .response(relay: hub.downloads)
    }

    @Sendable func uploadPart(_ request: Request, _ context: HubRequestContext) async throws -> some ResponseGenerator {
        let server = try await AgentRoutes(hub: hub).agent(request)
        var request = request
        let part = try await request.collectBody(upTo: 4 * 1024 * 1024)
        let query = QueryParameters(request: request)
        guard
            await hub.downloads.push(
                id: try context.parameter("download"), serverID: server.id, part: part, done: query.string("done") == "1",
                error: query.string("error"))
        else {
            throw APIError(.notFound, code: "not_found", "no download is waiting for this part (the browser left, or it is another server's)")
        }
        return JSONBody(Deleted())
    }
}
