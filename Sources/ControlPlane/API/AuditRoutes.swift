import BackupCore
import Foundation
import HubAPI
import Hummingbird
import Store

/// The account's audit log: every change, newest first, filterable.
struct AuditRoutes {
    let hub: HubServices

    func register(on api: inout APIRouter) {
        api.on(
            .get, "/api/v1/audit", summary: "The audit log: who changed, ran or removed what, and when (newest first)", tag: "account",
            response: "AuditList", query: ["resource", "actor", "since", "until", "cursor", "limit"], audit)
    }

    @Sendable func audit(_ request: Request, _ context: HubRequestContext) async throws -> some ResponseGenerator {
        return try await list(request, context)
    }

    func list(_ request: Request, _ context: HubRequestContext) async throws -> JSONBody<AuditList> {
        let query = QueryParameters(request: request)
        let since = try query.date("since")
        let until = try query.date("until")
        let cursor = try query.cursor()
        let limit = try query.limit()
        let accountID = try context.accountID()
        let filter = AuditFilter(resourceID: query.string("resource"), actor: query.string("actor"), since: since, until: until)
        let page = try await hub.store.audits(accountID: accountID, filter: filter, after: cursor, limit: limit)
        return JSONBody(AuditList(events: page.items, nextCursor: page.nextCursor?.token))
    }
}
