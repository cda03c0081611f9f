import BackupCore
import Foundation
import HubAPI
import Hummingbird
import Sealing
import Store

/// The account: plan (and what Plus adds), API tokens (create with a scope and a lifetime, the
/// secret shown once; revoke).
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
        let newScope: String?
        let error: String?
        let scopes: [Choice]
        let lifetimes: [Choice]
        /// The account signing key's fingerprint (nil: no vault yet, trust mode off).
        let accountKey: String?
    }
    struct Choice {
        let value: String
        let label: String
    }
    struct TokenRow {
        let id: String
        let name: String
        let prefix: String
        let scope: String
        let created: TimeView
        let expires: TimeView?
        let expired: Bool
        let lastUsed: TimeView?
    }

    static let scopeChoices = [
        Choice(value: "read", label: "read — look at everything, change nothing"),
        Choice(value: "metrics", label: "metrics — /metrics only (Prometheus)"),
        Choice(value: "write", label: "write — read, change, run and restore"),
        Choice(value: "admin", label: "admin — everything, including API tokens"),
    ]
    static let lifetimeChoices = [
        Choice(value: "30d", label: "30 days"), Choice(value: "7d", label: "7 days"), Choice(value: "90d", label: "90 days"),
        Choice(value: "1y", label: "1 year"), Choice(value: "never", label: "never expires"),
    ]

    func register(on router: Router<HubRequestContext>) {
        router.page(.get, "/backups/account", pages: pages) { _, _, caller in
            pages.render("account", try await model(caller, created: nil, error: nil))
        }
        router.page(.post, "/backups/account/tokens", pages: pages, createToken)
        router.page(.post, "/backups/account/tokens/{token}/revoke", pages: pages) { request, context, caller in
            try caller.checkCSRF(try await FormData.read(request, limit: 4096))
            if let id = context.parameters.get("token") {
                _ = try await TokenService(hub: pages.hub).revoke(id: id, accountID: caller.account.id)
            }
            return WebResponses.redirect("/backups/account")
        }
    }

    @Sendable func createToken(_ request: Request, _ context: HubRequestContext, _ caller: PageCaller) async throws -> Response {
        let form = try await FormData.read(request, limit: 16 * 1024)
        try caller.checkCSRF(form)
        do {
            let scope = try TokenScope.parse(form["scope"] ?? "read")
            let expires = form["expires"] ?? "never"
            let lifetime = expires == "never" ? nil : try APITokenRules.parseLifetime(expires)
            let created = try await TokenService(hub: pages.hub).create(
                TokenRequest(name: form["name"] ?? "", scope: scope, expiresInSeconds: lifetime), accountID: caller.account.id)
            return pages.render("account", try await model(caller, created: created, error: nil), status: .created)
        } catch let error as DomainError {
            return pages.render(
                "account", try await model(caller, created: nil, error: error.message.prefix(1).uppercased() + error.message.dropFirst() + "."),
                status: .badRequest)
        }
    }

    func model(_ caller: PageCaller, created: TokenCreated?, error: String?) async throws -> Model {
        let now = pages.now
        let tokens = try await TokenService(hub: pages.hub).list(accountID: caller.account.id).filter { $0.revokedAt == nil }
        return Model(
            layout: Layout("Account", section: "account", caller: caller), name: caller.account.name,
            planTitle: caller.account.plan.title, planClass: "plan-" + caller.account.plan.rawValue, isFree: caller.account.plan == .free,
            tokens: tokens.map {
                TokenRow(
                    id: $0.id, name: $0.name, prefix: $0.prefix, scope: $0.scope.rawValue, created: TimeView($0.createdAt, now: now),
                    expires: $0.expiresAt.map { TimeView($0, now: now) }, expired: $0.isExpired(at: now),
                    lastUsed: $0.lastUsedAt.map { TimeView($0, now: now) })
            },
            hasTokens: !tokens.isEmpty, newSecret: created?.secret, newScope: created?.token.scope.rawValue, error: error,
            scopes: Self.scopeChoices, lifetimes: Self.lifetimeChoices,
            accountKey: try await ManifestService(hub: pages.hub).accountKey(accountID: caller.account.id).map(KeyFingerprint.of))
    }
}
