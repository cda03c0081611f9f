import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing

@testable import ControlPlane

/// A browser signed in to the test hub, for page tests: its session cookie, and form posts that
/// carry the page's CSRF token as the web hub's forms do.
struct WebFormSession {
    let client: any TestClientProtocol
    let secret: String

    /// Signs in through `POST /api/v1/session` (the cookie a browser would keep).
    static func signIn(_ client: any TestClientProtocol, email: String) async throws -> WebFormSession {
        let login = try await client.call(.post, "/api/v1/session", body: #"{"email":"\#(email)","password":"\#(TestHub.password)"}"#)
        return WebFormSession(client: client, secret: try #require(login.cookies["mzpanel_session"]?.value, "\(login)"))
    }

    var cookie: HTTPFields { [.cookie: "mzpanel_session=\(secret)"] }

    /// A page's HTML.
    func page(_ path: String) async throws -> String { try await client.call(.get, path, headers: cookie).text }

    /// Posts a form: `fields` (already URL-encoded, each starting with `&`) after the CSRF token.
    func post(_ path: String, _ fields: String) async throws -> (status: HTTPResponse.Status, body: String) {
        let answer = try await client.execute(
            uri: path, method: .post, headers: [.cookie: "mzpanel_session=\(secret)", .contentType: "application/x-www-form-urlencoded"],
            body: ByteBuffer(string: "csrf=\(PageCaller.csrfToken(sessionSecret: secret))" + fields))
        return (answer.status, String(buffer: answer.body))
    }
}
