import Foundation
import HubAPI
import Hummingbird

/// Mounts the web hub under `/backups`: static files and every page.
func registerWebRoutes(on router: Router<HubRequestContext>, hub: HubServices) throws {
    let assets = try WebAssets.load()
    router.add(
        middleware: FileMiddleware(
            assets.staticDirectory, urlBasePath: "/backups/static", cacheControl: .init([(MediaType(type: .any), [.noCache])]),
            searchForIndexHtml: false))
    let pages = WebPages(hub: hub, assets: assets)
    LoginPages(pages: pages).register(on: router)
    JoinPage(pages: pages).register(on: router)
    SSOPages(pages: pages).register(on: router)
    HubPage(pages: pages).register(on: router)
    ServerPage(pages: pages).register(on: router)
    JobPages(pages: pages).register(on: router)
    RunPages(pages: pages).register(on: router)
    SnapshotsPage(pages: pages).register(on: router)
    SnapshotPage(pages: pages).register(on: router)
    RecoverPage(pages: pages).register(on: router)
    NotificationsPage(pages: pages).register(on: router)
    DestinationPages(pages: pages).register(on: router)
    AccountPage(pages: pages).register(on: router)
    AuditPage(pages: pages).register(on: router)
    router.get("/") { _, _ in WebResponses.redirect("/backups") }
}
