import Crypto
import Foundation

/// The hub's side of OpenID Connect with one provider: its discovery document
/// (`/.well-known/openid-configuration`), its keys (JWKS) and the token endpoint (authorization
/// code + PKCE). Every request goes through curl like the hub's notifications: the host's addresses
/// checked first (`OutboundAddress`; loopback and private ones only with
/// `--allow-private-webhooks`), no redirects, no proxy, settings and the client secret on curl's
/// standard input. The provider's answers are never quoted in messages (only their status and, from
/// the token endpoint, the OAuth error code).
struct OIDCClient: Sendable {
    let allowPrivate: Bool

    /// What the hub reads from a discovery document.
    struct Discovery: Decodable, Sendable {
        let issuer: String
        let authorizationEndpoint: String
        let tokenEndpoint: String
        let jwksURI: String
        let codeChallengeMethodsSupported: [String]?
        let tokenEndpointAuthMethodsSupported: [String]?

        enum CodingKeys: String, CodingKey {
            case issuer
            case authorizationEndpoint = "authorization_endpoint"
            case tokenEndpoint = "token_endpoint"
            case jwksURI = "jwks_uri"
            case codeChallengeMethodsSupported = "code_challenge_methods_supported"
            case tokenEndpointAuthMethodsSupported = "token_endpoint_auth_methods_supported"
        }
    }

    /// A failure talking to the provider, in words for the owner (setting up) or the person signing in.
    struct Failure: Error, Sendable, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }

    /// Reads and checks the issuer's discovery document: its `issuer` must be the configured one (OpenID Connect
    /// Discovery §4.3), its endpoints URLs the hub may reach, and S256 among its PKCE methods when it lists them.
    func discover(issuer: String) async throws(Failure) -> Discovery {
        let (code, body) = try await request(issuer + "/.well-known/openid-configuration", what: "the discovery document")
        guard code == 200 else { throw Failure("the provider's discovery document answered HTTP \(code) (is the issuer URL right?)") }
        guard let document = try? JSONDecoder().decode(Discovery.self, from: Data(body.utf8)) else {
            throw Failure("the provider's discovery document lacks issuer, authorization_endpoint, token_endpoint or jwks_uri")
        }
        guard document.issuer == issuer else {
            throw Failure("the discovery document names the issuer \(document.issuer), not \(issuer); use the provider's issuer exactly")
        }
        if let methods = document.codeChallengeMethodsSupported, !methods.contains("S256") {
            throw Failure("the provider does not offer PKCE with S256, which the hub requires")
        }
        for url in [document.authorizationEndpoint, document.tokenEndpoint, document.jwksURI] {
            guard let parsed = URLComponents(string: url), ["https", "http"].contains(parsed.scheme?.lowercased() ?? ""), parsed.host != nil else {
                throw Failure("the discovery document has an endpoint that is not an http(s) URL")
            }
        }
        return document
    }

    func keys(_ discovery: Discovery) async throws(Failure) -> JWKS {
        let (code, body) = try await request(discovery.jwksURI, what: "the provider's keys (JWKS)")
        guard code == 200 else { throw Failure("the provider's keys (JWKS) answered HTTP \(code)") }
        do {
            return try JWKS(json: Data(body.utf8))
        } catch {
            throw Failure(error.description)
        }
    }

    /// Exchanges an authorization code for tokens; answers the ID token.
    func idToken(
        _ discovery: Discovery, code: String, verifier: String, redirectURI: String, clientID: String, clientSecret: String?
    ) async throws(Failure) -> String {
        var fields = [
            ("grant_type", "authorization_code"), ("code", code), ("redirect_uri", redirectURI), ("code_verifier", verifier),
        ]
        var headers: [String] = []
        let methods = discovery.tokenEndpointAuthMethodsSupported ?? ["client_secret_basic"]
        if let clientSecret, methods.contains("client_secret_basic") || !methods.contains("client_secret_post") {
            // RFC 6749 §2.3.1: both parts form-encoded before Basic.
            let pair = Self.formEncode(clientID) + ":" + Self.formEncode(clientSecret)
            headers.append("Authorization: Basic " + Data(pair.utf8).base64EncodedString())
        } else {
            fields.append(("client_id", clientID))
            if let clientSecret { fields.append(("client_secret", clientSecret)) }
        }
        let form = fields.map { Self.formEncode($0.0) + "=" + Self.formEncode($0.1) }.joined(separator: "&")
        let (status, body) = try await request(discovery.tokenEndpoint, what: "the token endpoint", form: form, headers: headers)
        let answer = try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any]
        guard status == 200 else {
            let error = (answer?["error"] as? String).map { " (\($0.filter { $0.isLetter || $0 == "_" }.prefix(40)))" } ?? ""
            throw Failure("the provider's token endpoint refused the code: HTTP \(status)\(error)")
        }
        guard let token = answer?["id_token"] as? String else {
            throw Failure("the provider's token answer has no ID token (is openid in the scope?)")
        }
        return token
    }

    static func formEncode(_ text: String) -> String {
        text.addingPercentEncoding(
            withAllowedCharacters: CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~"))
            ?? ""
    }

    /// One request: GET, or POST of a form; the HTTP status (0: none) and the body (at most 64 KB).
    func request(_ url: String, what: String, form: String? = nil, headers: [String] = []) async throws(Failure) -> (Int, String) {
        guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased(), let host = components.host, !host.isEmpty
        else { throw Failure("\(what): \(url) is not a URL") }
        guard scheme == "https" || (scheme == "http" && allowPrivate) else {
            throw Failure("\(what): \(url) must use https (plain http only where the hub allows private addresses, for tests)")
        }
        let port = components.port ?? (scheme == "https" ? 443 : 80)
        let addresses: [String]
        do {
            addresses = try await OutboundAddress.resolve(host: host, port: port, allowPrivate: allowPrivate)
        } catch let refused as OutboundAddress.Refused {
            throw Failure("\(what) cannot be reached: " + refused.description)
        } catch {
            throw Failure("\(what) cannot be reached: the address could not be checked")
        }
        let arguments =
            Curl.guarded(protocols: allowPrivate ? "=http,https" : "=https", host: host, port: port, addresses: addresses, seconds: 10)
            + ["--write-out", "\n%{http_code}"]
        var config = "url = \"\(Curl.quoted(url))\"\nheader = \"Accept: application/json\"\nheader = \"User-Agent: mzpanel-hub/\(hubVersion)\"\n"
        for header in headers { config += "header = \"\(Curl.quoted(header))\"\n" }
        if let form {
            config += "header = \"Content-Type: application/x-www-form-urlencoded\"\ndata-raw = \"\(Curl.quoted(form))\"\n"
        }
        let (status, output) = await Curl.run(arguments, config: config, limit: 65_536)
        guard let newline = output.lastIndex(of: "\n"), let code = Int(output[output.index(after: newline)...].trimmingCharacters(in: .whitespaces)),
            code != 0
        else { throw Failure("\(what) could not be reached (\(Curl.describe(status)))") }
        if (300..<400).contains(code) { throw Failure("\(what) answered HTTP \(code), a redirect, which the hub does not follow") }
        return (code, String(output[..<newline]))
    }
}

/// PKCE (RFC 7636, S256), state and nonce: random values and the challenge the provider checks.
enum PKCE {
    /// 32 random bytes in base64url (43 characters).
    static func random() -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }
        return IDToken.base64URLEncode(bytes)
    }

    static func challenge(_ verifier: String) -> String {
        IDToken.base64URLEncode(Array(SHA256.hash(data: Data(verifier.utf8))))
    }
}
