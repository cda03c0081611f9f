import BackupCore
import Foundation
import HTTPTypes
import HubAPI
import Hummingbird
import Mustache
import Store

/// Server-side rendering of the fleet pages without HTTP, for `mzpanel-bench` and the tests that
/// check a page's database use does not grow with the fleet.
public struct WebRenderer: Sendable {
    let pages: WebPages

    public init(hub: HubServices) throws {
        pages = WebPages(hub: hub, assets: try WebAssets.load())
    }

    /// Times the hub page's parts (store + view model, template) in milliseconds.
    public func profileHub(accountID: String) async throws -> (model: Double, render: Double) {
        guard let account = try await pages.store.account(id: accountID) else { throw DomainError.notFound("account", accountID) }
        let caller = PageCaller(account: account, csrf: "benchmark")
        let start = ContinuousClock.now
        let model = try await HubPage(pages: pages).model(caller)
        let built = ContinuousClock.now
        _ = pages.assets.library.render(model, withTemplate: "hub")
        let done = ContinuousClock.now
        func ms(_ d: Duration) -> Double { Double(d.components.seconds) * 1000 + Double(d.components.attoseconds) / 1e15 }
        return (ms(built - start), ms(done - built))
    }

    /// One folder of a listed snapshot copy: through the API's code (answers the entries) or as
    /// the snapshot page's HTML (answers its size).
    public func browse(accountID: String, snapshotID: String, destinationID: String, path: String, page: Bool) async throws -> Int {
        guard page else {
            return try await BrowseService(hub: pages.hub).tree(
                snapshot: snapshotID, path: path, destination: destinationID, after: nil, refresh: false,
                accountID: accountID
            ).entries.count
        }
        guard let account = try await pages.store.account(id: accountID) else { throw DomainError.notFound("account", accountID) }
        let model = try await SnapshotPage(pages: pages).model(
            snapshotID, path: path, destination: destinationID, after: nil,
            caller: PageCaller(account: account, csrf: "benchmark"))
        return pages.assets.library.render(model, withTemplate: "snapshot")?.utf8.count ?? 0
    }

    /// Renders one of `hub`, `jobs`, `snapshots`, `destinations`, `recover` (for server web-0) for the account; answers the HTML's size.
    public func render(_ page: String, accountID: String) async throws -> Int {
        guard let account = try await pages.store.account(id: accountID) else { throw DomainError.notFound("account", accountID) }
        let caller = PageCaller(account: account, csrf: "benchmark")
        let html: String?
        switch page {
        case "hub": html = pages.assets.library.render(try await HubPage(pages: pages).model(caller), withTemplate: "hub")
        case "jobs":
            html = pages.assets.library.render(try await JobPages(pages: pages).list(Request.empty("/backups/jobs"), caller), withTemplate: "jobs")
        case "snapshots":
            html = pages.assets.library.render(
                try await SnapshotsPage(pages: pages).model(Request.empty("/backups/snapshots"), caller), withTemplate: "snapshots")
        case "destinations": html = pages.assets.library.render(try await DestinationPages(pages: pages).list(caller), withTemplate: "destinations")
        case "recover":
            html = pages.assets.library.render(try await RecoverPage(pages: pages).model(lost: "web-0", caller: caller), withTemplate: "recover")
        default: throw DomainError.invalid("page", "unknown page \(page)")
        }
        return html?.utf8.count ?? 0
    }
}

extension Request {
    /// A bodiless GET for `path` (rendering pages outside a server).
    static func empty(_ path: String) -> Request {
        Request(head: HTTPRequest(method: .get, scheme: "http", authority: "localhost", path: path), body: RequestBody(buffer: ByteBuffer()))
    }
}
