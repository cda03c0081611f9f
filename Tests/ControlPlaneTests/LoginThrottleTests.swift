import BackupCore
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Store
import Testing

@testable import ControlPlane

/// Logins: backoff per email and per address (429 with Retry-After) on the API and the web form,
/// the login form's CSRF token, and one bcrypt comparison per attempt whether the email is known or not.
@Suite("logins: throttling, CSRF and constant work")
struct LoginThrottleTests {
    static let start = Date(timeIntervalSince1970: 1_767_225_600)

    @Test func anEmailIsBlockedAfterFiveFailuresWithGrowingDelays() {
        var throttle = LoginThrottle()
        let keys = LoginGuard.keys(email: "a@example.com", address: "192.0.2.1")
        var now = Self.start
        for _ in 0..<4 {
            #expect(throttle.check(keys, now: now) == .allowed)
            throttle.failed(keys, now: now)
        }
        #expect(throttle.check(keys, now: now) == .allowed)
        throttle.failed(keys, now: now)
        #expect(throttle.check(keys, now: now) == .wait(2))
        now += 2
        #expect(throttle.check(keys, now: now) == .allowed)
        throttle.failed(keys, now: now)
        #expect(throttle.check(keys, now: now) == .wait(4))
        for _ in 0..<20 {
            now += 1000
            throttle.failed(keys, now: now)
        }
        #expect(throttle.check(keys, now: now) == .wait(900), "the delay stops growing at 15 minutes")
        // Another email from elsewhere is not affected; success clears the email's count.
        #expect(throttle.check(LoginGuard.keys(email: "b@example.com", address: "192.0.2.2"), now: now) == .allowed)
        throttle.succeeded("account:a@example.com")
        #expect(throttle.check(LoginGuard.keys(email: "a@example.com", address: "192.0.2.9"), now: now) == .allowed)
    }

    @Test func anAddressGuessingManyEmailsIsBlockedAfterTwenty() {
        var throttle = LoginThrottle()
        let now = Self.start
        for index in 0..<20 {
            let keys = LoginGuard.keys(email: "user\(index)@example.com", address: "198.51.100.7")
            #expect(throttle.check(keys, now: now) == .allowed)
            throttle.failed(keys, now: now)
        }
        #expect(throttle.check(LoginGuard.keys(email: "new@example.com", address: "198.51.100.7"), now: now) == .wait(1))
        #expect(throttle.check(LoginGuard.keys(email: "new@example.com", address: "198.51.100.8"), now: now) == .allowed)
    }

    @Test func failuresAreForgottenAfterAnHourAndTheTableIsBounded() {
        var throttle = LoginThrottle(capacity: 100)
        let keys = LoginGuard.keys(email: "a@example.com", address: "192.0.2.1")
        for _ in 0..<6 { throttle.failed(keys, now: Self.start) }
        #expect(throttle.check(keys, now: Self.start + 3600) == .allowed)
        for index in 0..<500 { throttle.failed(LoginGuard.keys(email: "u\(index)@example.com", address: "192.0.2.\(index % 250)"), now: Self.start) }
        #expect(throttle.entries.count <= 100)
    }

    @Test func theAPIAnswers429WithRetryAfterAndAcceptsTheRightPasswordAfterTheWait() async throws {
        try await withTestHub { hub, client in
            let account = try await hub.account("throttled@example.com")
            let wrong = #"{"email":"throttled@example.com","password":"not the password"}"#
            let right = #"{"email":"throttled@example.com","password":"\#(account.password)"}"#
            for _ in 0..<5 { expectError(try await client.call(.post, "/api/v1/session", body: wrong), .unauthorized) }
            let refused = try await client.call(.post, "/api/v1/session", body: right)
            expectError(refused, .tooManyRequests, code: "too_many_requests")
            #expect(refused.headers[.retryAfter] == "2")
            hub.clock.advance(by: 2)
            expectStatus(try await client.call(.post, "/api/v1/session", body: right), .created)
            // The success cleared the email's count: five more tries before a wait.
            for _ in 0..<4 { expectError(try await client.call(.post, "/api/v1/session", body: wrong), .unauthorized) }
            expectStatus(try await client.call(.post, "/api/v1/session", body: right), .created)
        }
    }

    @Test func unknownEmailsAreThrottledLikeKnownOnes() async throws {
        try await withTestHub { _, client in
            let body = #"{"email":"nobody@example.com","password":"whatever123"}"#
            for _ in 0..<5 { expectError(try await client.call(.post, "/api/v1/session", body: body), .unauthorized) }
            let refused = try await client.call(.post, "/api/v1/session", body: body)
            expectError(refused, .tooManyRequests)
            #expect(refused.headers[.retryAfter] != nil)
        }
    }

    /// The web form: a token tied to the login cookie; without it 403; wrong passwords lead to 429 with Retry-After.
    @Test func theLoginFormNeedsItsTokenAndIsThrottled() async throws {
        try await withTestHub { hub, client in
            let account = try await hub.account("form@example.com")
            let page = try await client.execute(uri: "/backups/login", method: .get)
            let cookie = try #require(
                page.headers[values: .setCookie].first { $0.hasPrefix(LoginPages.loginCookie + "=") }?.split(separator: ";").first.map(String.init))
            #expect(page.headers[values: .setCookie].first { $0.hasPrefix(LoginPages.loginCookie) }?.contains("HttpOnly") == true)
            let html = String(buffer: page.body)
            let token = try #require(html.firstMatch(of: /name="csrf" value="([0-9a-f]{64})"/).map { String($0.output.1) })

            func post(_ body: String, cookie: String?) async throws -> (status: HTTPResponse.Status, headers: HTTPFields) {
                var headers: HTTPFields = [.contentType: "application/x-www-form-urlencoded"]
                if let cookie { headers[.cookie] = cookie }
                let response = try await client.execute(uri: "/backups/login", method: .post, headers: headers, body: ByteBuffer(string: body))
                return (response.status, response.headers)
            }
            let good = "email=form%40example.com&password=\(account.password.replacingOccurrences(of: " ", with: "+"))&next=%2Fbackups"
            #expect(try await post(good, cookie: nil).status == .forbidden, "no login cookie: refused")
            #expect(try await post(good, cookie: cookie).status == .forbidden, "no token: refused")
            #expect(try await post(good + "&csrf=" + String(repeating: "0", count: 64), cookie: cookie).status == .forbidden)

            let bad = "csrf=\(token)&email=form%40example.com&password=wrongwrongwrong&next=%2Fbackups"
            for _ in 0..<5 { #expect(try await post(bad, cookie: cookie).status == .unauthorized) }
            let throttled = try await post("csrf=\(token)&" + good, cookie: cookie)
            #expect(throttled.status == .tooManyRequests)
            #expect(throttled.headers[.retryAfter] == "2")
            hub.clock.advance(by: 2)
            let loggedIn = try await post("csrf=\(token)&" + good, cookie: cookie)
            #expect(loggedIn.status == .seeOther)
            #expect(loggedIn.headers[values: .setCookie].contains { $0.hasPrefix("mzpanel_session=mzs_") })
        }
    }

    /// An unknown email costs one bcrypt comparison, like a known one with a wrong password (and a
    /// user without a password): the answer's timing does not tell which emails exist.
    @Test func everyAttemptCostsOneBcryptComparison() async throws {
        try await withTestHub { hub, _ in
            let passwords = PasswordHasher(threads: 1, maxPending: 4)
            let services = HubServices(store: hub.store, clock: hub.clock, configuration: hub.services.configuration, passwords: passwords)
            let account = try await hub.account("known@example.com")
            let login = LoginService(hub: services)
            var outcome = try await login.attempt(email: "unknown@example.com", password: "x", address: "192.0.2.1")
            #expect(passwords.checkCount == 1)
            guard case .wrong = outcome else {
                Issue.record("an unknown email must fail")
                return
            }
            outcome = try await login.attempt(email: "known@example.com", password: "wrong password", address: "192.0.2.1")
            #expect(passwords.checkCount == 2)
            guard case .wrong = outcome else {
                Issue.record("a wrong password must fail")
                return
            }
            outcome = try await login.attempt(email: "known@example.com", password: account.password, address: "192.0.2.1")
            #expect(passwords.checkCount == 3)
            guard case .loggedIn = outcome else {
                Issue.record("the right password must log in")
                return
            }
        }
    }

    /// The password pool is bounded: past `maxPending` waiting checks, a login answers 429 at once
    /// instead of queueing without end.
    @Test func thePasswordPoolRefusesBeyondItsBound() async throws {
        let passwords = PasswordHasher(threads: 1, maxPending: 2)
        let hash = try await passwords.hash("correct horse", cost: 10)
        let outcomes = await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<12 {
                group.addTask {
                    do {
                        _ = try await passwords.verify("wrong", hash: hash, cost: 10)
                        return true
                    } catch {
                        return false
                    }
                }
            }
            return await group.reduce(into: [Bool]()) { $0.append($1) }
        }
        #expect(outcomes.contains(false), "some checks were refused")
        #expect(outcomes.contains(true), "some checks ran")
    }
}
