import BackupCore
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import Store
import Synchronization

/// Writes an audit entry for every change an authenticated caller makes (API and web forms):
/// who, the route's action in words, the path with its ids, the status, the resource. Built from
/// the request line and the answer's resource id only, so no body and no secret ever reaches it.
struct AuditMiddleware: RouterMiddleware {
    typealias Context = HubRequestContext
    let hub: HubServices
    /// Filled once the routes are registered (the middleware is added before them, to wrap them).
    let table: ActionTable

    static let resourceHeader = HTTPField.Name("X-MZPanel-Resource")!

    /// The route table's actions in words, by method and path pattern.
    final class ActionTable: @unchecked Sendable {
        private let lock = NSLock()
        private var entries: [(method: HTTPRequest.Method, segments: [Substring], action: String)] = []
        private var api: [(method: HTTPRequest.Method, segments: [Substring])] = []

        func fill(routes: [RouteDoc]) {
            let web = AuditMiddleware.webActions
            lock.withLock {
                entries = routes.map { ($0.method, $0.path.split(separator: "/"), $0.summary) } + web.map { ($0.0, $0.1.split(separator: "/"), $0.2) }
                api = routes.map { ($0.method, $0.path.split(separator: "/")) }
            }
        }

        /// The methods the API serves on this path (none when the path is not an API route): a
        /// request with another method answers 405 with these in `Allow`.
        func apiMethods(_ path: String) -> [HTTPRequest.Method] {
            let segments = path.split(separator: "/")
            return lock.withLock { api }.filter { candidate in
                candidate.segments.count == segments.count && zip(candidate.segments, segments).allSatisfy { $0.hasPrefix("{") || $0 == $1 }
            }.map(\.method)
        }

        func action(_ method: HTTPRequest.Method, _ path: String) -> String {
            let segments = path.split(separator: "/")
            let match = lock.withLock { entries }.first { candidate in
                candidate.method == method && candidate.segments.count == segments.count
                    && zip(candidate.segments, segments).allSatisfy { $0.hasPrefix("{") || $0 == $1 }
            }
            return match?.action ?? "\(method.rawValue) \(path)"
        }
    }

    /// The web forms' actions (they are not in the API's route table).
    static let webActions: [(HTTPRequest.Method, String, String)] = [
        (.post, "/backups/servers", "Add a server"), (.post, "/backups/servers/{server}/enroll", "Issue an enrollment token"),
        (.post, "/backups/servers/{server}/delete", "Remove a server"), (.post, "/backups/jobs", "Create a job"),
        (.post, "/backups/jobs/{job}", "Change a job"), (.post, "/backups/jobs/{job}/retention-preview", "Preview a job's retention"),
        (.post, "/backups/jobs/{job}/run", "Run a job now"),
        (.post, "/backups/jobs/{job}/enable", "Enable a job"), (.post, "/backups/jobs/{job}/disable", "Disable a job"),
        (.post, "/backups/jobs/{job}/delete", "Delete a job"), (.post, "/backups/destinations/{destination}", "Change a destination"),
        (.post, "/backups/destinations/{destination}/delete", "Delete a destination"), (.post, "/backups/account/tokens", "Create an API token"),
        (.post, "/backups/account/tokens/{token}/revoke", "Revoke an API token"), (.post, "/backups/logout", "Log out"),
        (.post, "/backups/snapshots/{snapshot}/restore", "Restore a snapshot"),
        (.post, "/backups/notifications", "Add a notification channel"), (.post, "/backups/notifications/{channel}/test", "Send a test notification"),
        (.post, "/backups/notifications/{channel}/delete", "Remove a notification channel"),
        (.post, "/backups/account/members/invite", "Invite a member"), (.post, "/backups/account/members/{member}/role", "Change a member's role"),
        (.post, "/backups/account/members/{member}/remove", "Remove a member"),
        (.post, "/backups/account/invitations/{invitation}/withdraw", "Withdraw an invitation"),
        (.post, "/backups/account/sessions/{session}/end", "End a browser session"),
        (.post, "/backups/account/two-factor/{action}", "Change two-factor sign-in"),
    ]

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let response = try await next(request, context)
        guard [.post, .put, .patch, .delete].contains(request.method), let caller = context.caller, response.status.code < 400 else {
            return response
        }
        let path = request.uri.path
        var resource = response.headers[Self.resourceHeader] ?? response.headers[.location].flatMap(Self.firstID) ?? Self.firstID(path)
        if resource?.isEmpty == true { resource = nil }
        await hub.audit(
            accountID: caller.accountID, caller: caller, action: table.action(request.method, path), method: request.method.rawValue,
            path: path, status: Int(response.status.code), resourceID: resource, address: context.clientAddress)
        return response
    }

    /// The first resource id (`job_…`, `srv_…`) in a path.
    static func firstID(_ path: String) -> String? {
        path.split(separator: "/").first { segment in
            segment.count == 24 && segment.dropFirst(3).first == "_" && ResourceKind(rawValue: String(segment.prefix(3))) != nil
        }.map(String.init)
    }
}

extension HubServices {
    /// Records an audit entry; a failure to record is logged and does not undo the change.
    func audit(
        accountID: String, caller: Caller?, actor: String? = nil, action: String, method: String, path: String, status: Int, resourceID: String?,
        address: String? = nil
    ) async {
        // The member's email, or the token's name and its member's email (the Authenticator wrote the label).
        var who = actor ?? caller?.label ?? "unknown"
        if who.isEmpty, let userID = caller?.userID, let user = try? await store.user(id: userID) { who = user.email }
        let now = clock.now()
        let event = AuditEvent(
            id: AuditSequence.next(at: now), accountID: accountID, at: now, actor: who, action: action,
            method: method, path: path, status: status, resourceID: resourceID, address: address)
        do {
            try await store.insertAudit(event)
        } catch {
            Logger(label: "mzpanel.audit").error("audit.write_failed", metadata: ["audit.path": .string(path)])
        }
    }
}

/// Audit ids that sort in the order entries were written (`ResourceID.sequential`: time, then a
/// counter), so the log's order is exact even for changes within one millisecond.
enum AuditSequence {
    private static let counter = Mutex(UInt64.random(in: 0..<1_000_000_000))

    static func next(at date: Date) -> String {
        ResourceID.sequential(
            .audit, at: date,
            sequence: counter.withLock {
                $0 &+= 1
                return $0
            })
    }
}
