import BackupCore
import Foundation
import SQLKit

extension SQLHubStore {
    public func insertAudit(_ event: AuditEvent) async throws {
        try await write { db in
            try await db.raw(
                """
                INSERT INTO audit_events (id, account_id, at, actor, action, method, path, status, resource_id, address)
                VALUES (\(bind: event.id), \(bind: event.accountID), \(bind: event.at.millisecondsSince1970), \(bind: event.actor), \(bind: event.action),
                        \(bind: event.method), \(bind: event.path), \(bind: event.status), \(bind: event.resourceID), \(bind: event.address))
                """
            ).run()
        }
    }

    public func audits(accountID: String, filter: AuditFilter, after cursor: Cursor?, limit: Int) async throws -> Page<AuditEvent> {
        try await read { db in
            var query: SQLQueryString = "SELECT * FROM audit_events WHERE account_id = \(bind: accountID)"
            if let cursor {
                query = query + " AND (at, id) < (\(bind: cursor.createdAt.millisecondsSince1970), \(bind: cursor.id))"
            }
            if let since = filter.since { query = query + " AND at >= \(bind: since.millisecondsSince1970)" }
            if let until = filter.until { query = query + " AND at < \(bind: until.millisecondsSince1970)" }
            if let resource = filter.resourceID {
                query = query + " AND (resource_id = \(bind: resource) OR path LIKE \(bind: "%/" + Self.likeEscaped(resource) + "%") ESCAPE '\\')"
            }
            if let actor = filter.actor { query = query + " AND actor LIKE \(bind: "%" + Self.likeEscaped(actor) + "%") ESCAPE '\\'" }
            query = query + " ORDER BY at DESC, id DESC LIMIT \(literal: limit + 1)"
            let events = try await db.raw(query).all().map { row in
                AuditEvent(
                    id: try row.text("id"), accountID: try row.text("account_id"), at: try row.date("at"), actor: try row.text("actor"),
                    action: try row.text("action"), method: try row.text("method"), path: try row.text("path"),
                    status: Int(try row.integer("status")), resourceID: try row.optionalText("resource_id"),
                    address: try row.optionalText("address"))
            }
            return Self.page(events, limit: limit) { Cursor(createdAt: $0.at, id: $0.id) }
        }
    }

    static func likeEscaped(_ text: String) -> String {
        text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "%", with: "\\%").replacingOccurrences(of: "_", with: "\\_")
    }
}
