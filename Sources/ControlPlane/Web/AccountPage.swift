import BackupCore
import Foundation
import Hummingbird
import Store

/// The account: plan (and what Plus adds), API tokens (create, shown once; revoke).
struct AccountPage {
    let pages: WebPages

    struct Model {
        let layout: Layout
        let name: String
        let planTitle: String
        let planClass: String
        let isFree: Bool
        let tokens: [TokenRow]
        let hasTokens: Bool
        let newSecret: String?
        let error: String?
    }
    struct TokenRow {
        let id: String
        let name: String
        let prefix: String
        let created: TimeView
        let lastUsed: TimeView?
    }

    func register(on router: Router<HubRequestContext>) {
        router.page(.get, "/backups/account", pages: pages) { _, _, caller in
            pages.render("account", try await model(caller, secret: nil, error: nil))
        }
        router.page(.post, "/backups/account/tokens", pages: pages) { request, _, caller in
            let form = try await FormData.read(request, limit: 16 * 1024)
            try caller.checkCSRF(form)
            guard let name = form["name"], name.count <= 100 else {
                return pages.render(
                    "account", try await model(caller, secret: nil, error: "A token needs a name of 1–100 characters (what it is for)."),
                    status: .badRequest)
            }
            let issued = try await AccountProvisioning(store: pages.store, clock: pages.hub.clock).issueAPIToken(
                accountID: caller.account.id, name: name)
            return pages.render("account", try await model(caller, secret: issued.secret, error: nil), status: .created)
        }
        router.page(.post, "/backups/account/tokens/{token}/revoke", pages: pages) { request, context, caller in
            try caller.checkCSRF(try await FormData.read(request, limit: 4096))
            if let id = context.parameters.get("token") {
                _ = try await pages.store.revokeAPIToken(accountID: caller.account.id, id: id, at: pages.now)
            }
            return WebResponses.redirect("/backups/account")
        }
    }

    func model(_ caller: PageCaller, secret: String?, error: String?) async throws -> Model {
        let now = pages.now
        let tokens = try await pages.store.apiTokens(accountID: caller.account.id).filter { $0.revokedAt == nil }
        return Model(
            layout: Layout("Account", section: "account", caller: caller), name: caller.account.name,
            planTitle: caller.account.plan.title, planClass: "plan-" + caller.account.plan.rawValue, isFree: caller.account.plan == .free,
            tokens: tokens.map {
                TokenRow(
                    id: $0.id, name: $0.name, prefix: $0.prefix, created: TimeView($0.createdAt, now: now),
                    lastUsed: $0.lastUsedAt.map { TimeView($0, now: now) })
            },
            hasTokens: !tokens.isEmpty, newSecret: secret, error: error)
    }
}
