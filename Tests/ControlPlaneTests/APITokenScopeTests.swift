import BackupCore
import Foundation
import HTTPTypes
import HubAPI
import HummingbirdTesting
import NIOCore
import Store
import Testing

@testable import ControlPlane

/// API token scopes, expiry and last use: every route of the table against every scope.
@Suite("API: token scopes and expiry")
struct APITokenScopeTests {
    /// A token of `scope` made by the account's admin token; its secret.
    static func token(_ client: any TestClientProtocol, admin: String, scope: TokenScope, expiresIn: Int? = nil) async throws -> String {
        let expiry = expiresIn.map { #","expiresInSeconds":\#($0)"# } ?? ""
        let created = try await client.call(
            .post, "/api/v1/tokens", token: admin, body: #"{"name":"\#(scope.rawValue) token","scope":"\#(scope.rawValue)"\#(expiry)}"#)
        try #require(created.status == .created, "\(created)")
        #expect(created.json["token"]["scope"].string == scope.rawValue)
        return try #require(created.json["secret"].string)
    }

    @Test func theScopesAreOrdered() {
        #expect(TokenScope.admin.allows(.write) && TokenScope.write.allows(.read) && TokenScope.read.allows(.metrics))
        #expect(!TokenScope.metrics.allows(.read) && !TokenScope.read.allows(.write) && !TokenScope.write.allows(.admin))
        #expect(TokenScope.allCases.allSatisfy { $0.allows($0) && TokenScope.admin.allows($0) })
    }

    /// The table declares what each route needs; these are the ones a person would check first.
    @Test func routesNeedTheScopeTheDocsPromise() async throws {
        try await withTestHub { hub, _ in
            let table = Dictionary(uniqueKeysWithValues: try hub.routeTable().map { ("\($0.method.rawValue) \($0.path)", $0.scope) })
            let expected: [String: TokenScope?] = [
                "GET /metrics": .metrics,
                "GET /api/v1/jobs": .read, "GET /api/v1/snapshots/{snapshot}/download": .read, "POST /api/v1/schedules/preview": .read,
                "POST /api/v1/jobs/{job}/retention-preview": .read,
                "GET /api/v1/audit": .read, "GET /api/v1/account": .read,
                "POST /api/v1/jobs": .write, "POST /api/v1/restores": .write, "DELETE /api/v1/servers/{server}": .write,
                "GET /api/v1/vault": .write, "PUT /api/v1/vault": .write,
                "GET /api/v1/tokens": .admin, "POST /api/v1/tokens": .admin, "DELETE /api/v1/tokens/{token}": .admin,
                "POST /api/v1/session": nil, "GET /api/health": nil, "GET /api/agent/v1/jobs": nil, "POST /api/agent/v1/enroll": nil,
            ]
            for (route, scope) in expected {
                let declared = try #require(table[route], "no route \(route)")
                #expect(declared == scope, "\(route)")
            }
        }
    }

    /// Every API route × every scope: a token below the route's scope answers 403 naming the
    /// scope it lacks, before the handler runs; a token at or above it is never refused for scope.
    @Test func everyRouteEnforcesItsScopeForEveryScope() async throws {
        try await withTestHub { hub, client in
            let account = try await hub.account("matrix@example.com", plan: .plus)
            var tokens: [TokenScope: String] = [:]
            for scope in TokenScope.allCases { tokens[scope] = try await Self.token(client, admin: account.token, scope: scope) }
            let routes = try hub.routeTable().filter { $0.scope != nil }
            #expect(routes.count > 40, "the matrix covers the whole API")
            var checked = 0
            for route in routes {
                let required = try #require(route.scope)
                let path = route.path.replacingOccurrences(of: #"\{[a-z]+\}"#, with: "zz_missing", options: .regularExpression)
                for scope in TokenScope.allCases {
                    let answer = try await client.call(
                        route.method, path, token: tokens[scope], body: route.method == .get || route.method == .delete ? nil : "{}")
                    if scope.allows(required) {
                        #expect(answer.errorCode != "insufficient_scope", "\(scope) on \(route.method) \(route.path): \(answer)")
                        #expect(answer.status.code < 500, "\(scope) on \(route.method) \(route.path): \(answer)")
                    } else {
                        expectError(answer, .forbidden, code: "insufficient_scope")
                        let message = answer.error["message"].string ?? ""
                        #expect(message.contains("needs the \(required.rawValue) scope"), "\(answer)")
                        #expect(message.contains("has the \(scope.rawValue) scope"), "\(answer)")
                        #expect(answer.headers[.wwwAuthenticate]?.contains("scope=\"\(required.rawValue)\"") == true)
                    }
                    checked += 1
                }
            }
            #expect(checked == routes.count * TokenScope.allCases.count)
        }
    }

    @Test func aMetricsTokenReadsMetricsOnly() async throws {
        try await withTestHub { hub, client in
            let account = try await hub.account("scrape@example.com")
            let metrics = try await Self.token(client, admin: account.token, scope: .metrics)
            let scrape = try await client.call(.get, "/metrics", token: metrics)
            expectStatus(scrape, .ok)
            #expect(scrape.text.contains("mzpanel_servers"))
            let refused = try await client.call(.get, "/api/v1/servers", token: metrics)
            expectError(refused, .forbidden, code: "insufficient_scope")
            #expect(refused.error["message"].string?.contains("needs the read scope") == true)
            let read = try await Self.token(client, admin: account.token, scope: .read)
            expectStatus(try await client.call(.get, "/metrics", token: read), .ok)
            expectError(
                try await client.call(.post, "/api/v1/servers", token: read, body: #"{"name":"web1"}"#), .forbidden, code: "insufficient_scope")
            #expect(try await hub.store.servers(accountID: account.id).isEmpty, "the refused request changed nothing")
        }
    }

    @Test func onlyAdminTokensManageTokens() async throws {
        try await withTestHub { hub, client in
            let account = try await hub.account("admin-only@example.com")
            let write = try await Self.token(client, admin: account.token, scope: .write)
            let escalate = try await client.call(.post, "/api/v1/tokens", token: write, body: #"{"name":"mine","scope":"admin"}"#)
            expectError(escalate, .forbidden, code: "insufficient_scope")
            let list = try await client.call(.get, "/api/v1/tokens", token: account.token)
            #expect(list.json["tokens"].array.count == 2, "no token was made by the write token")
            #expect(list.json["tokens"].array.compactMap { $0["scope"].string }.sorted() == ["admin", "write"])
        }
    }

    @Test func tokensDefaultToReadAndRefuseBadScopesAndLifetimes() async throws {
        try await withTestHub { hub, client in
            let account = try await hub.account("defaults@example.com")
            let plain = try await client.call(.post, "/api/v1/tokens", token: account.token, body: #"{"name":"dashboard"}"#)
            expectStatus(plain, .created)
            #expect(plain.json["token"]["scope"].string == "read")
            #expect(plain.json["token"]["expiresAt"] == .null)
            expectError(
                try await client.call(.post, "/api/v1/tokens", token: account.token, body: #"{"name":"x","scope":"root"}"#), .badRequest)
            expectError(
                try await client.call(.post, "/api/v1/tokens", token: account.token, body: #"{"name":"x","expiresInSeconds":5}"#), .badRequest,
                field: "expiresInSeconds")
            expectError(
                try await client.call(.post, "/api/v1/tokens", token: account.token, body: #"{"name":"x","expiresInSeconds":999999999}"#),
                .badRequest, field: "expiresInSeconds")
            expectError(try await client.call(.post, "/api/v1/tokens", token: account.token, body: #"{"name":"  "}"#), .badRequest, field: "name")
        }
    }

    @Test func anExpiredTokenAnswers401() async throws {
        try await withTestHub { hub, client in
            let account = try await hub.account("expiry@example.com")
            let shortLived = try await Self.token(client, admin: account.token, scope: .read, expiresIn: 3600)
            let list = try await client.call(.get, "/api/v1/tokens", token: account.token)
            let listed = try #require(list.json["tokens"].array.first { $0["scope"].string == "read" })
            #expect(listed["expiresAt"].string == HubJSON.format(hub.clock.now().addingTimeInterval(3600)))
            expectStatus(try await client.call(.get, "/api/v1/servers", token: shortLived), .ok)
            hub.clock.advance(by: 3599)
            expectStatus(try await client.call(.get, "/api/v1/servers", token: shortLived), .ok)
            hub.clock.advance(by: 1)
            let expired = try await client.call(.get, "/api/v1/servers", token: shortLived)
            expectError(expired, .unauthorized, code: "token_expired")
            #expect(expired.error["message"].string?.contains("read token") == true)
            expectStatus(try await client.call(.get, "/api/v1/servers", token: account.token), .ok)
        }
    }

    @Test func lastUseIsWrittenAtMostOnceAMinute() async throws {
        try await withTestHub { hub, client in
            let account = try await hub.account("last-used@example.com")
            let reader = try await Self.token(client, admin: account.token, scope: .read)
            func lastUsed() async throws -> Date? {
                try await hub.store.apiTokens(accountID: account.id).first { $0.scope == .read }?.lastUsedAt
            }
            #expect(try await lastUsed() == nil)
            let first = hub.clock.now()
            expectStatus(try await client.call(.get, "/api/v1/servers", token: reader), .ok)
            #expect(try await lastUsed() == first)
            hub.clock.advance(by: 30)
            expectStatus(try await client.call(.get, "/api/v1/servers", token: reader), .ok)
            #expect(try await lastUsed() == first, "a use within the minute is not written")
            hub.clock.advance(by: 31)
            expectStatus(try await client.call(.get, "/api/v1/servers", token: reader), .ok)
            #expect(try await lastUsed() == hub.clock.now())
        }
    }

    /// The account page: create a scoped token with a lifetime (secret shown once), list it, revoke it.
    @Test func theAccountPageCreatesListsAndRevokesScopedTokens() async throws {
        try await withTestHub { hub, client in
            let account = try await hub.account("page-tokens@example.com")
            let login = try await client.call(
                .post, "/api/v1/session", body: #"{"email":"page-tokens@example.com","password":"\#(account.password)"}"#)
            let session = try #require(login.cookies["mzpanel_session"]?.value)
            let csrf = PageCaller.csrfToken(sessionSecret: session)
            let headers: HTTPFields = [.cookie: "mzpanel_session=\(session)", .contentType: "application/x-www-form-urlencoded"]
            let created = try await client.execute(
                uri: "/backups/account/tokens", method: .post, headers: headers,
                body: ByteBuffer(string: "csrf=\(csrf)&name=prometheus&scope=metrics&expires=90d"))
            #expect(created.status == .created)
            let page = String(buffer: created.body)
            let secret = try #require(page.firstMatch(of: /mzp_[a-z0-9]{40}/).map { String($0.output) })
            #expect(page.contains("New metrics token"))
            let token = try #require(try await hub.store.apiTokens(accountID: account.id).first { $0.name == "prometheus" })
            #expect(token.scope == .metrics)
            #expect(token.expiresAt == hub.clock.now().addingTimeInterval(90 * 86_400))
            expectStatus(try await client.call(.get, "/metrics", token: secret), .ok)

            let again = try await client.execute(uri: "/backups/account", method: .get, headers: headers)
            let listing = String(buffer: again.body)
            #expect(listing.contains("prometheus") && listing.contains(">metrics<"))
            #expect(!listing.contains(secret), "the secret is shown once")

            let bad = try await client.execute(
                uri: "/backups/account/tokens", method: .post, headers: headers, body: ByteBuffer(string: "csrf=\(csrf)&name=x&scope=root"))
            #expect(bad.status == .badRequest)
            #expect(String(buffer: bad.body).contains("is not a token scope"))

            let revoked = try await client.execute(
                uri: "/backups/account/tokens/\(token.id)/revoke", method: .post, headers: headers, body: ByteBuffer(string: "csrf=\(csrf)"))
            #expect(revoked.status == .seeOther || revoked.status == .found)
            expectError(try await client.call(.get, "/metrics", token: secret), .unauthorized)
        }
    }
}
