import Crypto
import Foundation
import _CryptoExtras

/// An OpenID Connect ID token (a JWS, compact form) checked the way OpenID Connect Core §3.1.3.7
/// says: RS256 only (never `none` or an HMAC with a public key), signed by a key of the provider's
/// JWKS, from the configured issuer, for this client (`aud`, and `azp` when there are several
/// audiences), unexpired, issued not in the future, with the nonce this sign-in sent, and with a
/// verified email. Pure: the keys and the clock come in.
struct IDToken: Sendable, Equatable {
    let subject: String
    let email: String
    let issuer: String

    /// Why a token was refused, in words for the log of a failed sign-in (never quoting the token).
    struct Refused: Error, Sendable, Equatable, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }

    /// Clock difference tolerated between the hub and the provider.
    static let leeway: TimeInterval = 120

    static func verify(
        _ token: String, keys: JWKS, issuer: String, clientID: String, nonce: String, now: Date
    ) throws(Refused) -> IDToken {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let headerData = base64URLDecode(parts[0]), let payloadData = base64URLDecode(parts[1]),
            let signature = base64URLDecode(parts[2])
        else { throw Refused("the ID token is not a compact JWS (three base64url parts)") }
        guard let header = try? JSONDecoder().decode(Header.self, from: headerData),
            let claims = try? JSONDecoder().decode(Claims.self, from: payloadData)
        else { throw Refused("the ID token's header or claims are not JSON objects of the expected types") }
        guard header.alg == "RS256" else { throw Refused("the ID token is signed with \(header.alg ?? "nothing"), not RS256") }
        if let crit = header.crit, !crit.isEmpty { throw Refused("the ID token has critical header parameters the hub does not know") }
        let candidates = keys.keys.filter { header.kid == nil || $0.kid == nil || $0.kid == header.kid }
        guard !candidates.isEmpty else { throw Refused("no key of the provider's JWKS has the ID token's key id") }
        let signed = Data((parts[0] + "." + parts[1]).utf8)
        let valid = candidates.contains { key in
            key.publicKey.isValidSignature(_RSA.Signing.RSASignature(rawRepresentation: signature), for: signed, padding: .insecurePKCS1v1_5)
        }
        guard valid else { throw Refused("the ID token's signature does not verify with the provider's keys") }

        guard claims.iss == issuer else { throw Refused("the ID token comes from another issuer than \(issuer)") }
        let audiences = claims.aud?.values ?? []
        guard audiences.contains(clientID) else { throw Refused("the ID token is not meant for this client (aud)") }
        if audiences.count > 1 || claims.azp != nil {
            guard claims.azp == clientID else { throw Refused("the ID token was issued to another client (azp)") }
        }
        let seconds = now.timeIntervalSince1970
        guard let exp = claims.exp else { throw Refused("the ID token has no expiry (exp)") }
        guard seconds < exp + leeway else { throw Refused("the ID token has expired") }
        if let iat = claims.iat, iat > seconds + leeway { throw Refused("the ID token was issued in the future (iat); check the clocks") }
        if let nbf = claims.nbf, nbf > seconds + leeway { throw Refused("the ID token is not valid yet (nbf)") }
        guard let sent = claims.nonce, constantTimeEqual(sent, nonce) else { throw Refused("the ID token's nonce is not the one this sign-in sent") }
        guard let subject = claims.sub, !subject.isEmpty else { throw Refused("the ID token names no subject (sub)") }
        guard let email = claims.email?.trimmingCharacters(in: .whitespaces).lowercased(), !email.isEmpty else {
            throw Refused("the provider sent no email address (ask for the email scope)")
        }
        guard claims.emailVerified?.value == true else { throw Refused("the provider has not verified the email address \(email)") }
        return IDToken(subject: subject, email: email, issuer: issuer)
    }

    struct Header: Decodable {
        let alg: String?
        let kid: String?
        let crit: [String]?
    }

    struct Claims: Decodable {
        let iss: String?
        let aud: Audience?
        let azp: String?
        let exp: Double?
        let iat: Double?
        let nbf: Double?
        let nonce: String?
        let sub: String?
        let email: String?
        let emailVerified: Flag?

        enum CodingKeys: String, CodingKey {
            case iss, aud, azp, exp, iat, nbf, nonce, sub, email
            case emailVerified = "email_verified"
        }
    }

    /// `aud`: one string or a list.
    struct Audience: Decodable {
        let values: [String]
        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let one = try? container.decode(String.self) { values = [one] } else { values = try container.decode([String].self) }
        }
    }

    /// `email_verified`: a boolean (some providers send the string "true").
    struct Flag: Decodable {
        let value: Bool
        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let flag = try? container.decode(Bool.self) { value = flag } else { value = try container.decode(String.self) == "true" }
        }
    }

    static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8)
        let y = Array(b.utf8)
        var difference = UInt8(x.count == y.count ? 0 : 1)
        for (p, q) in zip(x, y) { difference |= p ^ q }
        return difference == 0
    }

    static func base64URLDecode(_ text: some StringProtocol) -> Data? {
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/").replacingOccurrences(of: "=", with: "")
        while base64.count % 4 != 0 { base64 += "=" }
        return Data(base64Encoded: base64)
    }

    static func base64URLEncode(_ data: some DataProtocol) -> String {
        Data(data).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
}

/// A provider's JSON Web Key Set: its RSA signing keys (others are skipped).
struct JWKS: Sendable {
    struct Key: Sendable {
        let kid: String?
        let publicKey: _RSA.Signing.PublicKey
    }

    let keys: [Key]

    /// Reads `{"keys": [...]}`: RSA keys for signatures (`use` absent or `sig`, `alg` absent or RS256) of at least 2,048 bits.
    init(json: Data) throws(IDToken.Refused) {
        guard let object = try? JSONSerialization.jsonObject(with: json) as? [String: Any], let list = object["keys"] as? [[String: Any]] else {
            throw IDToken.Refused("the provider's JWKS is not a JSON object with a keys list")
        }
        var found: [Key] = []
        for entry in list {
            guard entry["kty"] as? String == "RSA", (entry["use"] as? String ?? "sig") == "sig", (entry["alg"] as? String ?? "RS256") == "RS256",
                let n = (entry["n"] as? String).flatMap(IDToken.base64URLDecode), let e = (entry["e"] as? String).flatMap(IDToken.base64URLDecode),
                let key = try? _RSA.Signing.PublicKey(n: n, e: e)
            else { continue }
            found.append(Key(kid: entry["kid"] as? String, publicKey: key))
        }
        guard !found.isEmpty else { throw IDToken.Refused("the provider's JWKS has no RSA signing key (RS256, 2,048 bits or more)") }
        keys = found
    }
}
