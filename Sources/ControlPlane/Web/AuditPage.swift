import BackupCore
import Foundation
import Hummingbird
import Store

/// `/backups/audit`: who changed what, filterable by resource and actor, 100 per page.
struct AuditPage {
    let pages: WebPages

    struct Row {
        let at: TimeView
        let actor: String
        let action: String
        let path: String
        let status: Int
        let resource: String
    }
    struct Model {
        let layout: Layout
        let rows: [Row]
        let hasRows: Bool
        let resource: String
        let actor: String
        let next: String?
    }

    func register(on router: Router<HubRequestContext>) {
        router.page(.get, "/backups/audit", pages: pages) { request, _, caller in
            let query = request.uri.queryParameters
            func value(_ name: String) -> String? {
                query.get(name).flatMap { $0.trimmingCharacters(in: .whitespaces).isEmpty ? nil : $0.trimmingCharacters(in: .whitespaces) }
            }
            let filter = AuditFilter(resourceID: value("resource"), actor: value("actor"))
            let page = try await pages.store.audits(
                accountID: caller.account.id, filter: filter, after: value("cursor").flatMap { try? Cursor.parse($0) }, limit: 100)
            let now = pages.now
            var next: String?
            if let token = page.nextCursor?.token {
                var components = URLComponents()
                components.path = "/backups/audit"
                components.queryItems =
                    [URLQueryItem(name: "cursor", value: token)]
                    + [("resource", filter.resourceID), ("actor", filter.actor)]
                    .compactMap { name, v in v.map { URLQueryItem(name: name, value: $0) } }
                next = components.string
            }
            let rows = page.items.map {
                Row(
                    at: TimeView($0.at, now: now), actor: $0.actor, action: $0.action, path: $0.path, status: $0.status, resource: $0.resourceID ?? ""
                )
            }
            return pages.render(
                "audit",
                Model(
                    layout: Layout("Audit log", section: "account", caller: caller), rows: rows, hasRows: !rows.isEmpty,
                    resource: filter.resourceID ?? "", actor: filter.actor ?? "", next: next))
        }
    }
}
