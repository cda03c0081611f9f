import BackupCore
import Foundation
import HTTPTypes
import HubAPI
import Hummingbird
import Logging
import NIOCore
import Store

/// An error answered to an API client: a status, a stable code, a message a person can act on
/// and, when it concerns one input, that input's name. Body: `{"error":{"code","message","field"}}`.
public struct APIError: HTTPResponseError, Sendable, CustomStringConvertible {
    public let status: HTTPResponse.Status
    public let code: String
    public let message: String
    public let field: String?
    /// Headers sent with the error (`Allow` on a 405, `Retry-After` on a 429, `WWW-Authenticate`).
    public var headers: HTTPFields = [:]

    public init(_ status: HTTPResponse.Status, code: String, _ message: String, field: String? = nil) {
        self.status = status
        self.code = code
        self.message = message
        self.field = field
    }

    public var description: String { message }

    public static func badRequest(_ message: String, field: String? = nil) -> APIError {
        APIError(.badRequest, code: "invalid", message, field: field)
    }

    public static func notFound(_ kind: ResourceKind, _ reference: String) -> APIError {
        APIError(.notFound, code: "not_found", "no \(kind.noun) \"\(reference)\" in this account")
    }

    public static let unauthorized = APIError(
        .unauthorized, code: "unauthorized",
        "missing, expired or revoked credentials: send Authorization: Bearer <API token> (mzpanel login) or log in again"
    )

    /// An API token used outside its scope: 403, naming the scope it has and the one the route needs (RFC 6750's `insufficient_scope`).
    public static func insufficientScope(has: TokenScope, needs: TokenScope, route: String) -> APIError {
        var error = APIError(
            .forbidden, code: "insufficient_scope",
            "this API token has the \(has.rawValue) scope; \(route) needs the \(needs.rawValue) scope. Use a token made with --scope \(needs.rawValue) (mzpanel tokens create)."
        )
        error.headers[.wwwAuthenticate] = "Bearer realm=\"mzpanel\", error=\"insufficient_scope\", scope=\"\(needs.rawValue)\""
        return error
    }

    /// An expired API token: 401, saying when it expired.
    public static func expiredToken(_ token: APIToken) -> APIError {
        APIError(
            .unauthorized, code: "token_expired",
            "the API token \"\(token.name)\" expired at \(HubJSON.format(token.expiresAt ?? Date())); create a new one (mzpanel tokens create)")
    }

    /// Maps a domain rule violation to its HTTP status.
    public init(_ error: DomainError) {
        let status: HTTPResponse.Status =
            switch error.code {
            case .invalid: .badRequest
            case .planRequired: .init(code: 402, reasonPhrase: "Payment Required")
            case .notFound: .notFound
            case .conflict, .ambiguous: .conflict
            case .unauthorized: .unauthorized
            case .forbidden: .forbidden
            case .timeout: .init(code: 504, reasonPhrase: "Gateway Timeout")
            }
        self.init(status, code: error.wireCode, error.message, field: error.field)
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        let data = try JSONEncoder().encode(ErrorBody(error: .init(code: code, message: message, field: field)))
        var response = Response(
            status: status, headers: [.contentType: "application/json; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
        if status == .unauthorized { response.headers[.wwwAuthenticate] = "Bearer realm=\"mzpanel\"" }
        for field in headers { response.headers[field.name] = field.value }
        return response
    }
}

/// Turns every error a handler throws into an `APIError`, so no client ever sees an HTML page
/// or a stack trace, and unexpected failures are logged (without request data) and answered 500.
struct ErrorMappingMiddleware<Context: RequestContext>: RouterMiddleware {
    /// The API's routes, to tell a wrong method (405) from a path that does not exist (404).
    let routes: AuditMiddleware.ActionTable

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as APIError {
            throw error
        } catch let error as DomainError {
            throw APIError(error)
        } catch let error as HTTPError {
            if error.status == .notFound, case let methods = routes.apiMethods(request.uri.path), !methods.isEmpty,
                !methods.contains(request.method)
            {
                let allowed = methods.map(\.rawValue).sorted().joined(separator: ", ")
                var refused = APIError(
                    .methodNotAllowed, code: "method_not_allowed", "\(request.method) is not served on \(request.uri.path); use \(allowed)")
                refused.headers[.allow] = allowed
                throw refused
            }
            let message =
                error.body ?? (error.status == .notFound ? "no such API route: \(request.method) \(request.uri.path)" : error.status.reasonPhrase)
            let code =
                error.status == .notFound
                ? "not_found" : error.status == .contentTooLarge ? "too_large" : error.status.code < 500 ? "invalid" : "internal"
            throw APIError(error.status, code: code, message)
        } catch StoreError.busy {
            context.logger.warning("request refused: the database pool is exhausted", metadata: ["http.path": "\(request.uri.path)"])
            throw Self.retryLater(code: "busy", StoreError.busy.description)
        } catch StoreError.unavailable(let reason) {
            context.logger.error(
                "request refused: the database is unavailable", metadata: ["error": "\(reason)", "http.path": "\(request.uri.path)"])
            throw Self.retryLater(code: "unavailable", "the hub cannot reach its database just now; try again in a few seconds")
        } catch {
            context.logger.error(
                "request failed",
                metadata: ["error.type": "\(type(of: error))", "error": "\(DatabaseFailure.describe(error))", "http.path": "\(request.uri.path)"])
            throw APIError(
                .internalServerError, code: "internal",
                "the hub could not complete the request; it has been logged. Try again, and report it if it persists.")
        }
    }

    /// 503 with `Retry-After: 5`: the database cannot serve the request now, but may shortly.
    private static func retryLater(code: String, _ message: String) -> APIError {
        var refused = APIError(.serviceUnavailable, code: code, message)
        refused.headers[.retryAfter] = "5"
        return refused
    }
}
