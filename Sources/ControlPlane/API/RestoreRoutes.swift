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
    }

    @Sendable func restore(_ request: Request, _ context: HubRequestContext) async throws -> some ResponseGenerator {
        let accountID = try context.accountID()
        let run = try await RestoreService(hub: hub).restore(
            try await request.decodeJSON(RestoreRequest.self, context: context), accountID: accountID)
        return JSONBody(run, status: .accepted)
    }
}
