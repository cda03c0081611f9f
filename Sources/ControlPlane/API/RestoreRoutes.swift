import BackupCore
import Foundation
import HubAPI
import Hummingbird
import LinkProtocol
import Store

/// `POST /api/v1/restores`: a restore is a run of the snapshot's job on the chosen server, with
/// its plan kept on the run (who restored what, from where, to where — the audit log has who).
struct RestoreRoutes {
    let hub: HubServices

    func register(on api: inout APIRouter) {
        api.on(
            .post, "/api/v1/restores", summary: "Restore a snapshot's files and databases (answers the queued restore run)", tag: "restores",
            body: "RestoreRequest", response: "Run", status: 202, restore)
        api.on(
            .put, "/api/v1/runs/{run}/manifest",
            summary: "Sign a restore that waits for it (replaces data or goes to another server): the hub then sends the order to the agent",
            tag: "restores", body: "ManifestRequest", response: "Run", sign)
    }

    @Sendable func restore(_ request: Request, _ context: HubRequestContext) async throws -> some ResponseGenerator {
        let accountID = try context.accountID()
        let run = try await RestoreService(hub: hub).restore(
            try await request.decodeJSON(RestoreRequest.self, context: context), accountID: accountID)
        return JSONBody(run, status: .accepted)
    }

    @Sendable func sign(_ request: Request, _ context: HubRequestContext) async throws -> some ResponseGenerator {
        let id = try context.parameter("run")
        let accountID = try context.accountID()
        guard let run = try await hub.store.run(accountID: accountID, id: id) else { throw APIError.notFound(.run, id) }
        let body = try await request.decodeJSON(ManifestRequest.self, context: context)
        return JSONBody(try await RestoreService(hub: hub).sign(run, with: body.manifest))
    }
}
