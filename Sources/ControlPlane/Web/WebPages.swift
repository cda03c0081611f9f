import BackupCore
import Foundation
import Hummingbird
import Mustache
import Store

/// What every page's layout needs: title, the account and plan, the form token, the current section.
struct Layout: Sendable {
    let title: String
    let accountName: String
    let planTitle: String
    let planClass: String
    let csrf: String
    // Stored, not computed: templates see stored properties only.
    let onHub, onJobs, onSnapshots, onRuns, onDestinations, onAccount, onNotifications: Bool
    /// Seconds after which the page reloads itself (a listing under way); nil: never.
    let refresh: Int?
    /// What the member's role allows, so pages offer only those actions (the use cases refuse the rest anyway).
    let can: Can

    struct Can: Sendable {
        let runNow, editJobs, deleteJobs, editDestinations, deleteDestinations, manageServers, deleteServers: Bool

        init() {
            runNow = Access.allows(.runNow)
            editJobs = Access.allows(.editJobs)
            deleteJobs = Access.allows(.deleteJobs)
            editDestinations = Access.allows(.editDestinations)
            deleteDestinations = Access.allows(.deleteDestinations)
            manageServers = Access.allows(.manageServers)
            deleteServers = Access.allows(.deleteServers)
        }
    }

    init(_ title: String, section: String, caller: PageCaller, refresh: Int? = nil) {
        self.title = title
        self.refresh = refresh
        onHub = section == "hub"
        onJobs = section == "jobs"
        onSnapshots = section == "snapshots"
        onRuns = section == "runs"
        onDestinations = section == "destinations"
        onAccount = section == "account"
        onNotifications = section == "notifications"
        accountName = caller.account.name
        planTitle = caller.account.plan.title
        planClass = "plan-" + caller.account.plan.rawValue
        csrf = caller.csrf
        can = Can()
    }
}

/// Renders templates and answers the common cases (not logged in, not found).
struct WebPages: Sendable {
    let hub: HubServices
    let assets: WebAssets

    var store: any HubStore { hub.store }
    var now: Date { hub.clock.now() }

    func render(_ template: String, _ model: Any, status: HTTPResponse.Status = .ok) -> Response {
        guard let html = assets.library.render(model, withTemplate: template) else {
            return WebResponses.html("<!doctype html><title>Error</title><p>The page template \(template) is missing.", status: .internalServerError)
        }
        return WebResponses.html(html, status: status)
    }

    /// The caller, or a redirect to the login page (remembering where the user wanted to go).
    func loginRedirect(_ request: Request) -> Response {
        let next =
            request.uri.path.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "/-_"))) ?? "/backups"
        return WebResponses.redirect("/backups/login?next=\(next)")
    }

    struct NotFoundPage {
        let layout: Layout
        let what: String
    }

    func notFound(_ what: String, caller: PageCaller) -> Response {
        render("not-found", NotFoundPage(layout: Layout("Not found", section: "", caller: caller), what: what), status: .notFound)
    }
}

/// Registers a page handler that needs a logged-in caller.
extension Router where Context == HubRequestContext {
    func page(
        _ method: HTTPRequest.Method, _ path: RouterPath, pages: WebPages,
        _ handler: @escaping @Sendable (Request, HubRequestContext, PageCaller) async throws -> Response
    ) {
        on(path, method: method) { request, context in
            guard let caller = try await PageCaller.from(request, context: context, store: pages.store) else { return pages.loginRedirect(request) }
            do {
                return try await handler(request, context, caller)
            } catch let error as DomainError where error.code == .forbidden {
                // A member's role does not include this (`RolePermissions.table`): say so, with the way back.
                let model = MessageModel(
                    layout: Layout("Not allowed", section: "", caller: caller), title: "Not allowed",
                    message: error.message.prefix(1).uppercased() + error.message.dropFirst() + ".", back: "/backups")
                return pages.render("message", model, status: .forbidden)
            }
        }
    }
}

/// A short message page (an action that could not be done, with the way back).
struct MessageModel {
    let layout: Layout
    let title: String
    let message: String
    let back: String
}
