import BackupCore
import Foundation
import Hummingbird
import Store

/// The account's audit log: every change, newest first, filterable.
struct AuditRoutes {
    let hub: HubServices

    struct AuditList: Encodable, Sendable { let events: [AuditEvent]; let nextCursor: String? }

    func register(on api: inout APIRouter) {
        api.on(.get, "/api/v1/audit", summary: "The audit log: who changed, ran or removed what, and when (newest first)", tag: "account",
               response: "AuditList", query: ["resource", "actor", "since", "until", "cursor", "limit"]) { request, context in
            let query = QueryParameters(request: request)
            let filter = AuditFilter(resourceID: query.string("resource"), actor: query.string("actor"), since: try query.date("since"), until: try query.date("until"))
            let page = try await hub.store.audits(accountID: try context.accountID(), filter: filter, after: try query.cursor(), limit: try query.limit())
            return JSONBody(AuditList(events: page.items, nextCursor: page.nextCursor?.token))
        }
    }
}
