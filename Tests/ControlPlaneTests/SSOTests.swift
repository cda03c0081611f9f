import BackupCore
import Foundation
import HTTPTypes
import HubAPI
import HummingbirdTesting
import NIOCore
import Store
import Testing

@testable import ControlPlane

/// Single sign-on against a real OpenID Connect provider on 127.0.0.1 (Tests/Support/oidc_provider.py:
/// discovery, JWKS, authorization code + PKCE S256, RS256 ID tokens): the whole flow through the
/// hub's routes, and every way a sign-in must be refused.
@Suite("Single sign-on (OpenID Connect)", .serialized)
struct SSOTests {
    static let clientID = "mzpanel-hub"
    static let clientSecret = "provider-client-secret-7f3a9c"
    static let redirectURI = "http://127.0.0.1:8780/backups/sso/callback"

    /// The test provider, its settings on standard input (the client secret never in argv).
    final class Provider: Sendable {
        let process: Process
        let port: Int
        var issuer: String { "http://127.0.0.1:\(port)" }

        init(secret: String? = SSOTests.clientSecret) throws {
            let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
                .appendingPathComponent("Support/oidc_provider.py")
            process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["python3", script.path]
            let input = Pipe()
            let output = Pipe()
            process.standardInput = input
            process.standardOutput = output
            try process.run()
            var settings: [String: Any] = ["clientID": SSOTests.clientID, "redirectURIs": [SSOTests.redirectURI]]
            if let secret { settings["clientSecret"] = secret }
            input.fileHandleForWriting.write(try JSONSerialization.data(withJSONObject: settings) + Data("\n".utf8))
            var line = Data()
            while let byte = try output.fileHandleForReading.read(upToCount: 1), !byte.isEmpty, byte != Data("\n".utf8) { line.append(byte) }
            port = Int(String(decoding: line, as: UTF8.self)) ?? 0
        }

        /// Changes the harness (`autoUser`, `mode`, `unverified`).
        func control(_ change: [String: Any]) throws {
            let body = String(decoding: try JSONSerialization.data(withJSONObject: change), as: UTF8.self)
            _ = try SSOTests.curl(["-s", "-X", "POST", "--data-binary", body, issuer + "/control"])
        }

        /// What the token endpoint received.
        func log() throws -> [[String: Any]] {
            let text = try SSOTests.curl(["-s", issuer + "/control/log"])
            return (try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [[String: Any]]) ?? []
        }

        /// Opens the hub's authorization URL as the browser would and answers where the provider redirects (the callback).
        func authorize(_ url: String) throws -> String {
            try SSOTests.curl(["-s", "-o", "/dev/null", "-w", "%{redirect_url}", url])
        }

        func stop() {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    static func curl(_ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }

    /// A hub whose clock is the real time (ID tokens carry the provider's time), allowing the provider on 127.0.0.1.
    static func withHub(_ body: @Sendable (TestHub, any TestClientProtocol) async throws -> Void) async throws {
        try await withTestHub(allowPrivateWebhooks: true) { hub, client in
            hub.clock.advance(by: Date().timeIntervalSince(TestClock.start))
            try await body(hub, client)
        }
    }

    static func configure(
        _ client: any TestClientProtocol, _ provider: Provider, token: String, role: String = "operator", allowJoin: Bool = true,
        domains: [String] = ["example.org"]
    ) async throws -> APIResponse {
        let domainList = domains.map { "\"\($0)\"" }.joined(separator: ",")
        return try await client.call(
            .put, "/api/v1/account/sso", token: token,
            body:
                #"{"issuer":"\#(provider.issuer)","clientID":"\#(clientID)","clientSecret":"\#(clientSecret)","defaultRole":"\#(role)","allowJoin":\#(allowJoin),"domains":[\#(domainList)]}"#
        )
    }

    /// One sign-in: starts at `start` (a hub path), lets the provider sign `email` in, and calls the callback with the
    /// browser cookie (or another, or a changed state). Answers the callback's response.
    static func signIn(
        _ client: any TestClientProtocol, _ provider: Provider, start: String, email: String, mode: String? = nil, otherBrowser: Bool = false,
        changeState: Bool = false, extraQuery: String = "", startHeaders: HTTPFields = [:], method: HTTPRequest.Method = .get, body: String? = nil
    ) async throws -> APIResponse {
        let begun = try await client.execute(
            uri: start, method: method, headers: startHeaders, body: body.map { ByteBuffer(string: $0) })
        let location: String
        if method == .post {
            // The login form's answer is a page that continues to the provider (a form's redirect to another site would
            // break form-action 'self').
            try #require(begun.status == .ok, "\(begun.status) \(String(buffer: begun.body).prefix(300))")
            let href = try #require(String(buffer: begun.body).firstMatch(of: #/id="sso-continue" href="([^"]+)"/#)?.1)
            location = href.replacingOccurrences(of: "&amp;", with: "&").replacingOccurrences(of: "&#38;", with: "&")
        } else {
            try #require(begun.status == .seeOther || begun.status == .found, "\(begun.status) \(String(buffer: begun.body).prefix(300))")
            location = try #require(begun.headers[.location])
        }
        #expect(location.hasPrefix(provider.issuer + "/authorize?"), "\(location)")
        #expect(location.contains("code_challenge_method=S256") && location.contains("nonce=") && location.contains("state="), "\(location)")
        let cookieField = try #require(begun.headers[values: .setCookie].first { $0.hasPrefix(SSOPages.cookie + "=") })
        #expect(cookieField.contains("HttpOnly") && cookieField.lowercased().contains("samesite=lax"), "\(cookieField)")
        let browser = String(cookieField.dropFirst(SSOPages.cookie.count + 1).prefix { $0 != ";" })
        try provider.control(["autoUser": email, "mode": mode.map { $0 as Any } ?? NSNull()])
        var callback = try provider.authorize(location)
        try #require(callback.hasPrefix(redirectURI + "?"), "the provider redirects to the hub: \(callback)")
        if changeState { callback = callback.replacingOccurrences(of: "state=", with: "state=x") }
        callback += extraQuery
        let path = String(callback.dropFirst("http://127.0.0.1:8780".count))
        let cookie = otherBrowser ? Secrets.make(prefix: Secrets.ssoPrefix) : browser
        return try await client.call(.get, path, headers: [.cookie: "\(SSOPages.cookie)=\(cookie)"])
    }

    static func sessionHeaders(_ response: APIResponse) throws -> HTTPFields {
        let session = try #require(response.cookies[Authenticator.sessionCookie]?.value, "a session cookie: \(response)")
        return [.cookie: "\(Authenticator.sessionCookie)=\(session)", .mzpanelRequest: "1"]
    }

    @Test func anOwnerSetsUpSingleSignOnAndMembersSignInOrJoinThroughIt() async throws {
        let provider = try Provider()
        defer { provider.stop() }
        try await Self.withHub { hub, client in
            let owner = try await hub.account("owner@example.com")
            let admin = try await APIRoleTests.member(hub, client, owner: owner, email: "admin@example.com", role: .admin)
            // Only owners configure it; any member may look (never at the secret).
            expectError(try await Self.configure(client, provider, token: admin.token), .forbidden, code: "forbidden_role")
            expectError(
                try await client.call(
                    .put, "/api/v1/account/sso", token: owner.token, body: #"{"issuer":"\#(provider.issuer)","clientID":"x","defaultRole":"owner"}"#),
                .badRequest, field: "defaultRole")
            expectError(
                try await client.call(
                    .put, "/api/v1/account/sso", token: owner.token, body: #"{"issuer":"\#(provider.issuer)/nowhere","clientID":"x"}"#),
                .badRequest, field: "issuer")
            let set = try await Self.configure(client, provider, token: owner.token)
            expectStatus(set, .ok)
            #expect(set.json["clientSecretSet"].bool == true && set.json["redirectURI"].string == Self.redirectURI, "\(set)")
            #expect(!set.text.contains(Self.clientSecret))
            let shown = try await client.call(.get, "/api/v1/account/sso", token: admin.token)
            expectStatus(shown, .ok)
            #expect(shown.json["issuer"].string == provider.issuer && shown.json["defaultRole"].string == "operator")
            #expect(!shown.text.contains(Self.clientSecret))

            // An existing member signs in through the provider.
            let signedIn = try await Self.signIn(client, provider, start: "/backups/login/sso?account=\(owner.id)", email: "owner@example.com")
            #expect(signedIn.status == .ok && signedIn.text.contains("sso-signed-in"), "\(signedIn)")
            #expect(signedIn.cookies[Authenticator.sessionCookie]?.attributes["samesite"]?.lowercased() == "strict")
            let me = try await client.call(.get, "/api/v1/account/two-factor", headers: try Self.sessionHeaders(signedIn))
            expectStatus(me, .ok)
            let exchange = try #require(try provider.log().last)
            #expect(exchange["method"] as? String == "client_secret_basic" && exchange["pkce"] as? Bool == true, "\(exchange)")

            // A new person of the account's domain finds the provider by email on the login page and joins as the default role.
            let login = try await client.call(.get, "/backups/login")
            let formCookie = try #require(login.cookies[LoginPages.loginCookie]?.value)
            let csrf = try #require(login.text.firstMatch(of: #/name="csrf" value="([0-9a-f]+)"/#)?.1)
            let joined = try await Self.signIn(
                client, provider, start: "/backups/login/sso", email: "new@example.org",
                startHeaders: [.cookie: "\(LoginPages.loginCookie)=\(formCookie)", .contentType: "application/x-www-form-urlencoded"],
                method: .post, body: "csrf=\(csrf)&email=new%40example.org&next=%2Fbackups%2Fjobs")
            #expect(joined.status == .ok && joined.text.contains("url=/backups/jobs"), "\(joined)")
            let members = try await client.call(.get, "/api/v1/members", token: owner.token)
            #expect(members.text.contains("new@example.org"), "\(members)")
            let newcomer = try #require(try await hub.store.user(email: "new@example.org"))
            #expect(newcomer.role == .operator && newcomer.accountID == owner.id && newcomer.passwordHash == "!")

            // An email the login page does not know is told so; nothing is started.
            let unknown = try await client.execute(
                uri: "/backups/login/sso", method: .post,
                headers: [.cookie: "\(LoginPages.loginCookie)=\(formCookie)", .contentType: "application/x-www-form-urlencoded"],
                body: ByteBuffer(string: "csrf=\(csrf)&email=someone%40elsewhere.net"))
            #expect(unknown.status == .badRequest && String(buffer: unknown.body).contains("not set up for this email"))

            let audit = try await client.call(.get, "/api/v1/audit", token: owner.token)
            #expect(audit.text.contains("Log in with single sign-on"), "\(audit)")
            #expect(audit.text.contains("Join the account as operator through single sign-on"), "\(audit)")
            #expect(!audit.text.contains(Self.clientSecret))

            // Turned off: a sign-in cannot start.
            expectStatus(try await client.call(.delete, "/api/v1/account/sso", token: owner.token), .ok)
            expectError(try await client.call(.delete, "/api/v1/account/sso", token: owner.token), .notFound, code: "not_found")
            let off = try await client.execute(uri: "/backups/login/sso?account=\(owner.id)", method: .get)
            #expect(off.status == .badRequest && String(buffer: off.body).contains("not set up"))
        }
    }

    @Test func badTokensAndForeignCallbacksAreRefused() async throws {
        let provider = try Provider()
        defer { provider.stop() }
        try await Self.withHub { hub, client in
            let owner = try await hub.account("owner@example.com")
            let other = try await hub.account("stranger@example.org")
            expectStatus(try await Self.configure(client, provider, token: owner.token, allowJoin: false), .ok)
            let start = "/backups/login/sso?account=\(owner.id)"
            let cases: [(mode: String?, email: String, otherBrowser: Bool, changeState: Bool, words: String)] = [
                ("wrong_nonce", "owner@example.com", false, false, "nonce"),
                ("bad_signature", "owner@example.com", false, false, "signature does not verify"),
                ("wrong_audience", "owner@example.com", false, false, "not meant for this client"),
                ("expired", "owner@example.com", false, false, "expired"),
                ("wrong_issuer", "owner@example.com", false, false, "another issuer"),
                ("alg_none", "owner@example.com", false, false, "not RS256"),
                (nil, "owner@example.com", false, true, "expired or was already used"),
                (nil, "owner@example.com", true, false, "another browser"),
                (nil, "nobody@example.org", false, false, "not a member of this account"),
                (nil, other.email, false, false, "belongs to another account"),
            ]
            for (mode, email, otherBrowser, changeState, words) in cases {
                let answer = try await Self.signIn(
                    client, provider, start: start, email: email, mode: mode, otherBrowser: otherBrowser, changeState: changeState)
                #expect(answer.status == .unauthorized, "\(mode ?? email): \(answer)")
                #expect(answer.text.contains(words), "\(mode ?? email): \(answer)")
                #expect(answer.cookies[Authenticator.sessionCookie] == nil, "\(mode ?? email): no session")
            }
            // RFC 9207: a response naming another issuer is refused (mix-up).
            let mixedUp = try await Self.signIn(
                client, provider, start: start, email: "owner@example.com", extraQuery: "&iss=https%3A%2F%2Fevil.example")
            #expect(mixedUp.status == .unauthorized && mixedUp.text.contains("another provider"), "\(mixedUp)")
            try provider.control(["unverified": ["owner@example.com"]])
            let unverified = try await Self.signIn(client, provider, start: start, email: "owner@example.com")
            #expect(unverified.status == .unauthorized && unverified.text.contains("not verified"), "\(unverified)")
            try provider.control(["unverified": [String]()])
            #expect(try await hub.store.user(email: "nobody@example.org") == nil, "nobody joined")
            let audit = try await client.call(.get, "/api/v1/audit", token: owner.token)
            #expect(audit.text.contains("Single sign-on refused"), "\(audit)")
            // The same provider signs the member in once it sends a correct token.
            let good = try await Self.signIn(client, provider, start: start, email: "owner@example.com")
            #expect(good.status == .ok, "\(good)")
        }
    }

    @Test func invitationsAreAcceptedThroughTheProviderByTheInvitedEmailOnly() async throws {
        let provider = try Provider()
        defer { provider.stop() }
        try await Self.withHub { hub, client in
            let owner = try await hub.account("owner@example.com")
            expectStatus(try await Self.configure(client, provider, token: owner.token, allowJoin: false, domains: []), .ok)
            func invite(_ email: String) async throws -> String {
                let invited = try await client.call(
                    .post, "/api/v1/invitations", token: owner.token, body: #"{"email":"\#(email)","role":"viewer"}"#)
                let url = try #require(invited.json["url"].string)
                let page = try await client.execute(uri: String(url.dropFirst("http://127.0.0.1:8780".count)), method: .get)
                #expect(String(buffer: page.body).contains("id=\"join-sso\""), "the join page offers single sign-on")
                return String(try #require(url.split(separator: "=").last))
            }
            let secret = try await invite("invitee@example.com")
            let wrong = try await Self.signIn(client, provider, start: "/backups/join/sso?invitation=\(secret)", email: "else@example.com")
            #expect(wrong.status == .unauthorized && wrong.text.contains("invitation is for invitee@example.com"), "\(wrong)")
            let joined = try await Self.signIn(client, provider, start: "/backups/join/sso?invitation=\(secret)", email: "invitee@example.com")
            #expect(joined.status == .ok, "\(joined)")
            let member = try #require(try await hub.store.user(email: "invitee@example.com"))
            #expect(member.role == .viewer && member.accountID == owner.id)
            let again = try await client.execute(uri: "/backups/join/sso?invitation=\(secret)", method: .get)
            #expect(again.status == .notFound, "the invitation works once")
            // A member who joined through the provider has no password: the password form never signs them in.
            let password = try await client.call(.post, "/api/v1/session", body: #"{"email":"invitee@example.com","password":"!"}"#)
            #expect(password.status == .unauthorized)
        }
    }

    @Test func aMemberWithTwoFactorTypesTheirCodeAfterTheProvider() async throws {
        let provider = try Provider()
        defer { provider.stop() }
        try await Self.withHub { hub, client in
            let owner = try await hub.account("owner@example.com")
            expectStatus(try await Self.configure(client, provider, token: owner.token), .ok)
            let begun = try await client.call(.post, "/api/v1/account/two-factor", token: owner.token)
            let secret = try #require(begun.json["secret"].string)
            let step = TOTP.step(at: hub.clock.now())
            expectStatus(
                try await client.call(
                    .post, "/api/v1/account/two-factor/confirm", token: owner.token, body: #"{"code":"\#(TOTP.code(secret: secret, step: step)!)"}"#),
                .ok)
            let asked = try await Self.signIn(client, provider, start: "/backups/login/sso?account=\(owner.id)", email: "owner@example.com")
            #expect(asked.status == .ok && asked.text.contains("sso-code-form"), "\(asked)")
            #expect(asked.cookies[Authenticator.sessionCookie] == nil, "no session before the code")
            let ticket = try #require(asked.cookies[SSOPages.cookie]?.value)
            let csrf = try #require(asked.text.firstMatch(of: #/name="csrf" value="([0-9a-f]+)"/#)?.1)
            let headers: HTTPFields = [.cookie: "\(SSOPages.cookie)=\(ticket)", .contentType: "application/x-www-form-urlencoded"]
            let wrong = try await client.execute(
                uri: "/backups/sso/code", method: .post, headers: headers, body: ByteBuffer(string: "csrf=\(csrf)&code=000000"))
            #expect(wrong.status == .unauthorized)
            let forged = try await client.execute(
                uri: "/backups/sso/code", method: .post, headers: headers,
                body: ByteBuffer(string: "csrf=0000&code=\(TOTP.code(secret: secret, step: step + 1)!)"))
            #expect(forged.status == .forbidden, "the form must carry its token")
            let right = try await client.execute(
                uri: "/backups/sso/code", method: .post, headers: headers,
                body: ByteBuffer(string: "csrf=\(csrf)&code=\(TOTP.code(secret: secret, step: step + 1)!)"))
            #expect(right.status == .ok && String(buffer: right.body).contains("sso-signed-in"))
            #expect(right.headers[values: .setCookie].contains { $0.hasPrefix(Authenticator.sessionCookie + "=mzs_") })
        }
    }

    @Test func failedCallbacksAreThrottledPerAddress() async throws {
        try await Self.withHub { hub, client in
            var last: HTTPResponse.Status = .ok
            for _ in 0..<22 {
                last = try await client.execute(uri: "/backups/sso/callback?state=forged&code=forged", method: .get).status
            }
            #expect(last == .tooManyRequests)
        }
    }
}
