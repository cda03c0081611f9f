import BackupCore
import ControlPlane
import Foundation
import HTTPTypes
import HubAPI
import HummingbirdTesting
import Testing

@Suite("API: health, login sessions and CSRF")
struct APISessionTests {
    @Test func healthAnswersWithoutCredentials() async throws {
        try await withTestHub { _, client in
            let health = try await client.call(.get, "/api/health")
            expectStatus(health, .ok)
            #expect(health.json["status"].string == "ok")
            #expect(health.json["database"].string == "sqlite")
            #expect(health.json["version"].string == hubVersion)
        }
    }

    @Test func loginSetsAStrictHttpOnlyCookieThatAuthenticates() async throws {
        try await withTestHub { hub, client in
            let account = try await hub.account("Ops@Example.com")
            let login = try await client.call(.post, "/api/v1/session", body: #"{"email":" ops@example.COM ","password":"\#(account.password)"}"#)
            expectStatus(login, .created)
            #expect(login.json["account"]["id"].string == account.id)
            #expect(login.json["email"].string == "ops@example.com")
            #expect(login.json["expiresAt"].string == HubJSON.format(hub.clock.now().addingTimeInterval(12 * 3600)))
            #expect(!login.text.contains("passwordHash"))

            let cookie = try #require(login.cookies["mzpanel_session"], "\(login.headers)")
            #expect(cookie.value.hasPrefix("mzs_"))
            #expect(cookie.attributes["httponly"] != nil)
            #expect(cookie.attributes["samesite"]?.lowercased() == "strict")
            #expect(cookie.attributes["path"] == "/")
            #expect(cookie.attributes["secure"] == nil, "not Secure unless configured")

            let session: HTTPFields = [.cookie: "mzpanel_session=\(cookie.value)"]
            let me = try await client.call(.get, "/api/v1/account", headers: session)
            expectStatus(me, .ok)
            #expect(me.json["account"]["id"].string == account.id)
        }
    }

    @Test func cookieChangesNeedTheRequestHeader() async throws {
        try await withTestHub { hub, client in
            let account = try await hub.account("csrf@example.com")
            let login = try await client.call(.post, "/api/v1/session", body: #"{"email":"csrf@example.com","password":"\#(account.password)"}"#)
            let secret = try #require(login.cookies["mzpanel_session"]?.value)
            let session: HTTPFields = [.cookie: "mzpanel_session=\(secret)"]

            let forged = try await client.call(.post, "/api/v1/servers", body: #"{"name":"web1"}"#, headers: session)
            expectError(forged, .forbidden, code: "csrf")
            let wrongValue = try await client.call(
                .post, "/api/v1/servers", body: #"{"name":"web1"}"#, headers: [.cookie: "mzpanel_session=\(secret)", .mzpanelRequest: "yes"])
            expectError(wrongValue, .forbidden, code: "csrf")
            let servers = try await client.call(.get, "/api/v1/servers", headers: session)
            #expect(servers.json["servers"].array.isEmpty, "the forged request created nothing")

            let allowed = try await client.call(
                .post, "/api/v1/servers", body: #"{"name":"web1"}"#, headers: [.cookie: "mzpanel_session=\(secret)", .mzpanelRequest: "1"])
            expectStatus(allowed, .created)
            // Bearer tokens are not cookies: no header needed.
            let bearer = try await client.call(.post, "/api/v1/servers", token: account.token, body: #"{"name":"web2"}"#)
            expectStatus(bearer, .created)
        }
    }

    @Test func logoutEndsTheSession() async throws {
        try await withTestHub { hub, client in
            let account = try await hub.account("logout@example.com")
            let login = try await client.call(.post, "/api/v1/session", body: #"{"email":"logout@example.com","password":"\#(account.password)"}"#)
            let secret = try #require(login.cookies["mzpanel_session"]?.value)
            let headers: HTTPFields = [.cookie: "mzpanel_session=\(secret)", .mzpanelRequest: "1"]

            let logout = try await client.call(.delete, "/api/v1/session", headers: headers)
            expectStatus(logout, .ok)
            #expect(logout.json["deleted"].bool == true)
            let cleared = try #require(logout.cookies["mzpanel_session"])
            #expect(cleared.value.isEmpty)
            #expect(cleared.attributes["max-age"] == "0")

            let after = try await client.call(.get, "/api/v1/account", headers: [.cookie: "mzpanel_session=\(secret)"])
            expectError(after, .unauthorized, code: "unauthorized")
        }
    }

    @Test func sessionsExpire() async throws {
        try await withTestHub { hub, client in
            let account = try await hub.account("expiry@example.com")
            let login = try await client.call(.post, "/api/v1/session", body: #"{"email":"expiry@example.com","password":"\#(account.password)"}"#)
            let secret = try #require(login.cookies["mzpanel_session"]?.value)
            hub.clock.advance(by: 12 * 3600 - 1)
            expectStatus(try await client.call(.get, "/api/v1/account", headers: [.cookie: "mzpanel_session=\(secret)"]), .ok)
            hub.clock.advance(by: 1)
            expectError(try await client.call(.get, "/api/v1/account", headers: [.cookie: "mzpanel_session=\(secret)"]), .unauthorized)
        }
    }

    @Test func wrongCredentialsAreRefused() async throws {
        try await withTestHub { hub, client in
            _ = try await hub.account("who@example.com")
            let wrongPassword = try await client.call(.post, "/api/v1/session", body: #"{"email":"who@example.com","password":"not the password"}"#)
            expectError(wrongPassword, .unauthorized, code: "unauthorized")
            #expect(wrongPassword.cookies["mzpanel_session"] == nil)
            let unknown = try await client.call(.post, "/api/v1/session", body: #"{"email":"nobody@example.com","password":"whatever12345"}"#)
            expectError(unknown, .unauthorized, code: "unauthorized")
            #expect(wrongPassword.error["message"] == unknown.error["message"], "the answer does not tell which part was wrong")

            expectError(try await client.call(.get, "/api/v1/account", headers: [.cookie: "mzpanel_session=mzs_forged"]), .unauthorized)
            expectError(try await client.call(.get, "/api/v1/account", token: "mzp_forged"), .unauthorized)
            let basic = try await client.call(.get, "/api/v1/account", headers: [.authorization: "Basic dXNlcjpwYXNz"])
            expectError(basic, .unauthorized)
            #expect(basic.headers[.wwwAuthenticate]?.hasPrefix("Bearer") == true)
        }
    }

    /// Every route that needs a caller answers 401 without one, whatever its method.
    @Test func everyAuthenticatedRouteNeedsCredentials() async throws {
        try await withTestHub { hub, client in
            let routes = try hub.routeTable()
            var checked = 0
            for route in routes where route.authenticated {
                let path = route.path.replacingOccurrences(of: #"\{[^}]+\}"#, with: "x1", options: .regularExpression)
                let response = try await client.call(route.method, path, body: route.requestSchema == nil ? nil : "{}")
                expectError(response, .unauthorized, code: "unauthorized")
                checked += 1
            }
            #expect(checked >= 20)
            // A new public route must be a deliberate choice: extend this list when adding one.
            let publicRoutes = Set(routes.filter { !$0.authenticated }.map { "\($0.method) \($0.path)" })
            #expect(
                publicRoutes.isSubset(of: [
                    "GET /api/health", "GET /api/openapi.json", "POST /api/v1/session", "DELETE /api/v1/session", "POST /api/agent/v1/enroll",
                    // What a new server downloads before it has any credential (the install one-liner).
                    "GET /install.sh", "GET /agent/{file}",
                ]),
                "\(publicRoutes.sorted())")
        }
    }
}
