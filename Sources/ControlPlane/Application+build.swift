import BackupCore
import Foundation
import HubAPI
import Hummingbird
import HummingbirdCore
import Logging
import ServiceLifecycle
import Store

/// The hub's version, reported by /api/health and the OpenAPI document.
public let hubVersion = "0.1.0"

/// The router with every API route, and the table the OpenAPI document is built from.
public func buildRouter(hub: HubServices) throws -> (router: Router<HubRequestContext>, routes: [RouteDoc]) {
    let router = Router(context: HubRequestContext.self)
    let actions = AuditMiddleware.ActionTable()
    router.add(middleware: ErrorMappingMiddleware(routes: actions))
    router.add(middleware: ClientAddressMiddleware(proxies: hub.configuration.trustedProxies))
    router.add(middleware: Authenticator(store: hub.store, clock: hub.clock))
    router.add(middleware: AuditMiddleware(hub: hub, table: actions))
    var api = APIRouter(router: router)
    AccountRoutes(hub: hub).register(on: &api)
    MemberRoutes(hub: hub).register(on: &api)
    TwoFactorRoutes(hub: hub).register(on: &api)
    SSORoutes(hub: hub).register(on: &api)
    ServerRoutes(hub: hub).register(on: &api)
    DestinationRoutes(hub: hub).register(on: &api)
    VaultRoutes(hub: hub).register(on: &api)
    JobRoutes(hub: hub).register(on: &api)
    HistoryRoutes(hub: hub).register(on: &api)
    MetricsRoute(hub: hub).register(on: &api)
    AuditRoutes(hub: hub).register(on: &api)
    NotificationRoutes(hub: hub).register(on: &api)
    RestoreRoutes(hub: hub).register(on: &api)
    BrowseRoutes(hub: hub).register(on: &api)
    DownloadRoutes(hub: hub).register(on: &api)
    AgentRoutes(hub: hub).register(on: &api)

    api.on(.get, "/api/health", summary: "Liveness and the database in use", tag: "meta", authenticated: false, response: "Health") { _, _ in
        JSONBody(HubHealth(status: "ok", database: hub.store.engineName, version: hubVersion))
    }
    let openAPIRoute = RouteDoc(
        method: .get, path: "/api/openapi.json", summary: "This document", tag: "meta", authenticated: false, scope: nil,
        requestSchema: nil, responseSchema: nil, successStatus: 200, query: [])
    let document = try OpenAPIDocument.build(routes: api.docs + [openAPIRoute] + AgentDistributionRoutes.docs, version: hubVersion)
    router.get("/api/openapi.json") { _, _ in
        Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: .init(bytes: document)))
    }
    try registerWebRoutes(on: router, hub: hub)
    let unitTemplate = try String(contentsOfFile: try WebAssets.resourceRoot() + "/agent/mzpanel-agent.service", encoding: .utf8)
    let installTemplate = try String(contentsOfFile: try WebAssets.resourceRoot() + "/agent/install.sh", encoding: .utf8)
        .replacingOccurrences(of: "@AGENT_UNIT@\n", with: AgentBuilds.agentUnit(template: unitTemplate, binary: AgentBuilds.installedBinary))
    AgentDistributionRoutes(hub: hub, template: installTemplate).register(on: router)
    actions.fill(routes: api.docs + [openAPIRoute] + AgentDistributionRoutes.docs)
    return (router, api.docs + [openAPIRoute] + AgentDistributionRoutes.docs)
}

/// Assembles the control plane: router, middleware and server settings. Tests call it too.
/// - Parameter server: how connections are served (plain HTTP/1.1 unless `mzpanel serve` wraps it in TLS).
public func buildApplication(hub: HubServices, logger: Logger, server: HTTPServerBuilder = .http1()) throws -> some ApplicationProtocol {
    let (router, _) = try buildRouter(hub: hub)
    var services: [any Service] = []
    if hub.configuration.runScheduler {
        services.append(HubScheduler(store: hub.store, clock: hub.clock, configuration: hub.configuration.scheduler, logger: logger))
        services.append(HubNotifier(hub: hub, logger: logger))
        services.append(DrillScheduler(hub: hub, logger: logger))
    }
    return Application(
        router: router,
        server: server,
        configuration: .init(address: .hostname(hub.configuration.host, port: hub.configuration.port), serverName: "mzpanel"),
        services: services,
        logger: logger
    )
}
