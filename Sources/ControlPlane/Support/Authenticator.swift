import BackupCore
import Foundation
import HTTPTypes
import Hummingbird
import Store

/// Identifies the caller from `Authorization: Bearer <API token>` or the session cookie. It does
/// not reject: handlers that need a caller ask `context.accountID()`, which answers 401.
/// Cookie-authenticated changes must carry `X-MZPanel-Request: 1` (a header a cross-site form
/// cannot send), which blocks cross-site request forgery on the API.
struct Authenticator: RouterMiddleware {
    typealias Context = HubRequestContext
    let store: any HubStore
    let clock: any HubClock

    static let sessionCookie = "mzpanel_session"
    static let csrfHeader = HTTPField.Name("X-MZPanel-Request")!

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        if let authorization = request.headers[.authorization], !authorization.hasPrefix("Agent ") {
            guard authorization.lowercased().hasPrefix("bearer ") else {
                throw APIError(.unauthorized, code: "unauthorized", "the Authorization header must be \"Bearer <API token>\"")
            }
            let secret = String(authorization.dropFirst(7)).trimmingSpaces
            guard let token = try await store.apiToken(hash: Secrets.hash(secret)) else { throw APIError.unauthorized }
            let now = clock.now()
            guard !token.isExpired(at: now) else { throw APIError.expiredToken(token) }
            // Last use to the minute: one write a minute per token, not one per request.
            if token.shouldRecordUse(at: now) { try await store.touchAPIToken(id: token.id, at: now) }
            context.caller = Caller(
                accountID: token.accountID, method: .apiToken(id: token.id), label: "API token \"\(token.name)\" (\(token.id))", scope: token.scope)
        } else if let secret = request.cookies[Self.sessionCookie]?.value {
            if let session = try await store.session(hash: Secrets.hash(secret), now: clock.now()) {
                // Web pages' forms carry their own CSRF token (checked by the page handlers).
                if request.uri.path.hasPrefix("/api/"), ![.get, .head, .options].contains(request.method), request.headers[Self.csrfHeader] != "1" {
                    throw APIError(.forbidden, code: "csrf", "browser requests that change data must send the header X-MZPanel-Request: 1")
                }
                context.caller = Caller(accountID: session.accountID, method: .session(id: session.id), label: "web session", userID: session.userID)
            }
        }
        return try await next(request, context)
    }
}
