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
        _ method: HTTPRequest.Method, _ path: String, summary: String, tag: String, authenticated: Bool = true,
        body: String? = nil, response: String?, status: Int = 200, query: [String] = [],
        _ handler: @escaping @Sendable (Request, HubRequestContext) async throws -> R
    ) {
        docs.append(
            RouteDoc(
                method: method, path: path, summary: summary, tag: tag, authenticated: authenticated,
                requestSchema: body, responseSchema: response, successStatus: status, query: query))
        router.on(RouterPath(path), method: method) { request, context in
            try QueryParameters(request: request).refuseEmptyValues()
            return try await handler(request, context)
        }
    }
}

extension HubRequestContext {
    /// A path parameter that the route's pattern guarantees.
    func parameter(_ name: String) throws -> String {
        guard let value = parameters.get(name) else { throw APIError.badRequest("missing path parameter \(name)") }
        return value
    }
}
