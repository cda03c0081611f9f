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

    /// What a member without two-factor sign-in may open in an account that requires it: the account page and its
    /// two-factor set-up, and leaving (not the page's other forms: an API token made then would go around the rule).
    static func allowedBeforeTwoFactor(_ path: String) -> Bool {
        ["/backups/account", "/backups/logout", "/api/v1/session"].contains(path)
            || ["/backups/account/two-factor/", "/api/v1/account/two-factor", "/backups/static/"].contains { path.hasPrefix($0) }
    }

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
            // A token acts for its member, with the member's current role: a removed member's tokens are revoked with them.
            var role = MemberRole.owner
            var label = "API token \"\(token.name)\" (\(token.id))"
            if let userID = token.userID {
                guard let member = try await store.user(id: userID), member.accountID == token.accountID else { throw APIError.unauthorized }
                role = member.role
                label += " of \(member.email)"
            }
            context.caller = Caller(
                accountID: token.accountID, method: .apiToken(id: token.id), label: label, userID: token.userID, scope: token.scope, role: role)
        } else if let secret = request.cookies[Self.sessionCookie]?.value {
            if let session = try await store.session(hash: Secrets.hash(secret), now: clock.now()),
                let member = try await store.user(id: session.userID), member.accountID == session.accountID
            {
                // Web pages' forms carry their own CSRF token (checked by the page handlers).
                if request.uri.path.hasPrefix("/api/"), ![.get, .head, .options].contains(request.method), request.headers[Self.csrfHeader] != "1" {
                    throw APIError(.forbidden, code: "csrf", "browser requests that change data must send the header X-MZPanel-Request: 1")
                }
                if !member.twoFactor, try await store.twoFactorRequired(accountID: member.accountID), !Self.allowedBeforeTwoFactor(request.uri.path) {
                    if request.uri.path.hasPrefix("/api/") {
                        throw APIError(
                            .forbidden, code: "two_factor_required",
                            "this account requires two-factor sign-in; set it up first (the account page, or mzpanel two-factor enable)")
                    }
                    return WebResponses.redirect("/backups/account")
                }
                context.caller = Caller(
                    accountID: session.accountID, method: .session(id: session.id), label: member.email, userID: session.userID, role: member.role)
            }
        }
        guard let caller = context.caller else { return try await next(request, context) }
        return try await Access.$current.withValue(caller.access) { try await next(request, context) }
    }
}
