import BackupCore
import Foundation
import HTTPTypes
import Hummingbird

/// What the OpenAPI document says about one route.
public struct RouteDoc: Sendable {
    public let method: HTTPRequest.Method
    public let path: String
    public let summary: String
    public let tag: String
    public let authenticated: Bool
    /// The API token scope the route needs; nil for routes API tokens do not open (log in, agents' routes).
    public let scope: TokenScope?
    public let requestSchema: String?
    public let responseSchema: String?
    public let successStatus: Int
    public let query: [String]
}

/// Registers API routes on the router and records each one's documentation, so the OpenAPI
/// document is built from the same table that serves requests and cannot forget a route.
public struct APIRouter {
    let router: Router<HubRequestContext>
    public private(set) var docs: [RouteDoc] = []

    init(router: Router<HubRequestContext>) { self.router = router }

    mutating func on<R: ResponseGenerator>(
        _ method: HTTPRequest.Method, _ path: String, summary: String, tag: String, authenticated: Bool = true, scope: TokenScope? = nil,
        body: String? = nil, response: String?, status: Int = 200, query: [String] = [],
        _ handler: @escaping @Sendable (Request, HubRequestContext) async throws -> R
    ) {
        let required = Self.requiredScope(method, path, authenticated: authenticated, declared: scope)
        docs.append(
            RouteDoc(
                method: method, path: path, summary: summary, tag: tag, authenticated: authenticated, scope: required,
                requestSchema: body, responseSchema: response, successStatus: status, query: query))
        let route = "\(method.rawValue) \(path)"
        router.on(RouterPath(path), method: method) { request, context in
            try QueryParameters(request: request).refuseEmptyValues()
            // The one place token scopes are enforced: before the handler reads a body or a row.
            if let required, let caller = context.caller, !caller.scope.allows(required) {
                throw APIError.insufficientScope(has: caller.scope, needs: required, route: route)
            }
            return try await handler(request, context)
        }
    }

    /// The scope a route needs: as declared, else `read` to look (GET) and `write` to change;
    /// none for routes without a caller (logging in) and for the agents' routes.
    static func requiredScope(_ method: HTTPRequest.Method, _ path: String, authenticated: Bool, declared: TokenScope?) -> TokenScope? {
        guard authenticated, !path.hasPrefix("/api/agent/") else { return nil }
        if let declared { return declared }
        return method == .get || method == .head ? .read : .write
    }
}

extension HubRequestContext {
    /// A path parameter that the route's pattern guarantees.
    func parameter(_ name: String) throws -> String {
        guard let value = parameters.get(name) else { throw APIError.badRequest("missing path parameter \(name)") }
        return value
    }
}
