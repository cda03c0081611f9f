import BackupCore
import Foundation
import HubAPI
import TrustedHTTP

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// `mzpanel login --email`: signs in as a member with the password and, when the member has
/// two-factor sign-in on, a code; makes an API token for this CLI with that session (the widest
/// scope the member's role allows), then ends the session. Only the token is saved.
struct PasswordLogin {
    let baseURL: String
    let trust: HubTrust

    /// The new token's secret. `code` is asked only when the hub answers that the member needs one.
    func token(email: String, password: String, code: () throws -> String) async throws -> String {
        var answer = try await call("POST", "/api/v1/session", body: LoginRequest(email: email, password: password), cookie: nil)
        if answer.response.statusCode == 401, Self.errorCode(answer.data) == "two_factor_required" {
            answer = try await call("POST", "/api/v1/session", body: LoginRequest(email: email, password: password, code: try code()), cookie: nil)
        }
        try check(answer, "signing in")
        guard let cookie = Self.sessionCookie(answer.response) else { throw CLIError("the hub did not start a session for \(email)") }
        let host = ProcessInfo.processInfo.hostName
        var secret: String?
        for scope in [TokenScope.admin, .write, .read] {
            let created = try await call(
                "POST", "/api/v1/tokens", body: TokenRequest(name: "mzpanel CLI on \(host)", scope: scope), cookie: cookie)
            if created.response.statusCode == 403, Self.errorCode(created.data) == "forbidden_role" { continue }
            try check(created, "making an API token")
            secret = try HubJSON.decoder().decode(TokenCreated.self, from: created.data).secret
            break
        }
        _ = try? await call("DELETE", "/api/v1/session", body: nil, cookie: cookie)
        guard let secret else { throw CLIError("the hub made no API token for \(email)") }
        return secret
    }

    func call(_ method: String, _ path: String, body: (any Encodable)?, cookie: String?) async throws -> (data: Data, response: HTTPURLResponse) {
        guard let url = URL(string: baseURL + path) else { throw CLIError("the hub URL \"\(baseURL)\" is not a valid URL") }
        var request = URLRequest(url: url)
        request.httpMethod = method
        request.httpShouldHandleCookies = false
        request.setValue("application/json", forHTTPHeaderField: "Accept")
        if let cookie {
            request.setValue("\(Self.cookieName)=\(cookie)", forHTTPHeaderField: "Cookie")
            request.setValue("1", forHTTPHeaderField: "X-MZPanel-Request")
        }
        if let body {
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
            request.httpBody = try HubJSON.encoder().encode(body)
        }
        do {
            if trust.caFile != nil { return try await CurlClient.data(for: request, trust: trust) }
            let configuration = URLSessionConfiguration.ephemeral
            configuration.httpShouldSetCookies = false
            let (data, response) = try await URLSession(configuration: configuration).data(for: request)
            guard let http = response as? HTTPURLResponse else { throw CLIError("the hub at \(baseURL) did not answer over HTTP") }
            return (data, http)
        } catch let error as CLIError {
            throw error
        } catch {
            throw CLIError("cannot reach the hub at \(baseURL): \((error as? TrustedHTTPError)?.message ?? error.localizedDescription)")
        }
    }

    func check(_ answer: (data: Data, response: HTTPURLResponse), _ what: String) throws {
        guard (200..<300).contains(answer.response.statusCode) else {
            if let failure = try? JSONDecoder().decode(ErrorBody.self, from: answer.data) {
                throw CLIError("\(what): \(failure.error.message)")
            }
            throw CLIError("\(what): the hub answered HTTP \(answer.response.statusCode)")
        }
    }

    static let cookieName = "mzpanel_session"

    static func errorCode(_ data: Data) -> String? { (try? JSONDecoder().decode(ErrorBody.self, from: data))?.error.code }

    /// The session cookie's value from `Set-Cookie` (several cookies may be joined in one header).
    static func sessionCookie(_ response: HTTPURLResponse) -> String? {
        for (name, value) in response.allHeaderFields {
            guard (name as? String)?.lowercased() == "set-cookie", let text = value as? String,
                let start = text.range(of: cookieName + "=")
            else { continue }
            let rest = text[start.upperBound...]
            let cookie = rest.prefix { $0 != ";" && $0 != "," }
            if !cookie.isEmpty { return String(cookie) }
        }
        return nil
    }
}
