import BackupCore
import Foundation
import HTTPTypes
import HubAPI
import HummingbirdTesting
import Testing

@testable import ControlPlane

/// Two-factor sign-in: RFC 6238's vectors, enrolment, sign-in with codes computed here (±1 step,
/// each code once), recovery codes, and the owner's policy.
@Suite("API: two-factor sign-in")
struct TwoFactorTests {
    /// RFC 6238 appendix B, SHA-1 (secret "12345678901234567890"), the 8-digit codes' last 6 digits.
    @Test func rfc6238Vectors() {
        let secret = Base32.encode(Data("12345678901234567890".utf8))
        #expect(secret == "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ")
        let vectors: [(TimeInterval, String)] = [
            (59, "287082"), (1_111_111_109, "081804"), (1_111_111_111, "050471"), (1_234_567_890, "005924"), (2_000_000_000, "279037"),
            (20_000_000_000, "353130"),
        ]
        for (time, code) in vectors {
            #expect(TOTP.code(secret: secret, step: TOTP.step(at: Date(timeIntervalSince1970: time))) == code, "T=\(time)")
        }
        #expect(Base32.decode(secret) == Data("12345678901234567890".utf8))
        #expect(Base32.decode("not base32!") == nil)
        let now = Date(timeIntervalSince1970: 1_111_111_111)
        let step = TOTP.step(at: now)
        #expect(TOTP.matchingStep("050471", secret: secret, at: now, after: nil) == step)
        #expect(TOTP.matchingStep("050471", secret: secret, at: now, after: step) == nil, "a code works once")
        #expect(TOTP.matchingStep(TOTP.code(secret: secret, step: step - 1)!, secret: secret, at: now, after: nil) == step - 1)
        #expect(TOTP.matchingStep(TOTP.code(secret: secret, step: step + 1)!, secret: secret, at: now, after: nil) == step + 1)
        #expect(TOTP.matchingStep(TOTP.code(secret: secret, step: step + 2)!, secret: secret, at: now, after: nil) == nil)
        #expect(TOTP.matchingStep(TOTP.code(secret: secret, step: step - 2)!, secret: secret, at: now, after: nil) == nil)
        #expect(TOTP.matchingStep("05047", secret: secret, at: now, after: nil) == nil)
        #expect(
            TOTP.uri(secret: secret, account: "a@example.com").hasPrefix("otpauth://totp/MZPanel%20Backups:a@example.com?secret=\(secret)&issuer="))
        let codes = TOTP.recoveryCodes()
        #expect(codes.count == 10 && Set(codes).count == 10 && codes.allSatisfy { $0.count == 11 })
        #expect(TOTP.normalizedRecoveryCode(codes[0].uppercased().replacingOccurrences(of: "-", with: " ")) == codes[0])
    }

    /// The QR encoder against an independent one (python-qrcode 8.2, level M, byte mode): for each of the eight masks
    /// the SHA-256 of the module rows ("0"/"1", one line per row) matches, for a version 1 and a version 8 code
    /// (four Reed–Solomon blocks of two lengths, version bits).
    @Test func qrCodesMatchAnIndependentEncoder() throws {
        let vectors: [(String, Int, [String])] = [
            (
                "HELLO hello", 1,
                [
                    "365d08b499dbd24f8a2f0964cac9f336", "333cc57ff9b2a7ac8ee828b09bfff61b", "90d016caca6c4882a6ba4046a195ea0f",
                    "74624112e900ff7e844aa665060a41a6", "5282a23112449372995cd4b9fcb222ab", "35dbfcdd5bacf9441b61b6c620df2c95",
                    "0771e3bbe5a3e61504cbff0a90044aa5", "5c45c32de8ec555b92acd35fa103d2f1",
                ]
            ),
            (
                "otpauth://totp/MZPanel%20Backups:ops@example.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=MZPanel%20Backups&algorithm=SHA1&digits=6&period=30",
                8,
                [
                    "6752c485ad663a89bfb47eaf7de8794a", "72a88f983001b62e7c8ce60239d85335", "2cd68da7d57f0d8e9f1d3155bc69ffbf",
                    "ad6771aa293570de04cfe8373e6a7c01", "ffb7332f50cb315cd4b5d84572b10630", "0cd24b922e76c15742a40b43664fd567",
                    "439aa002efafd3b3dd947da043be60e7", "9ef73ec942a8ca929530e815aa3d42ab",
                ]
            ),
        ]
        for (text, version, hashes) in vectors {
            for (mask, expected) in hashes.enumerated() {
                let code = try #require(QRCode(text, mask: mask))
                #expect(code.version == version && code.size == version * 4 + 17)
                let rows = code.modules.map { $0.map { $0 ? "1" : "0" }.joined() }.joined(separator: "\n")
                #expect(Secrets.hash(rows).prefix(32) == expected, "\(text.prefix(12))… mask \(mask)")
            }
            let chosen = try #require(QRCode(text))
            #expect(chosen.modules == QRCode(text, mask: chosen.mask)?.modules)
            let svg = chosen.svg()
            #expect(svg.hasPrefix("<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 \(chosen.size + 8) \(chosen.size + 8)\""))
            #expect(svg.components(separatedBy: "h1v1h-1z").count - 1 == chosen.modules.joined().filter { $0 }.count)
        }
        #expect(QRCode(String(repeating: "x", count: 700)) == nil, "beyond version 20 at level M")
    }

    static func login(_ client: any TestClientProtocol, _ email: String, _ password: String, code: String? = nil) async throws -> APIResponse {
        let codeField = code.map { #","code":"\#($0)""# } ?? ""
        return try await client.call(.post, "/api/v1/session", body: #"{"email":"\#(email)","password":"\#(password)"\#(codeField)}"#)
    }

    @Test func enrolAndSignInWithCodesUsedOnce() async throws {
        try await withTestHub { hub, client in
            let owner = try await hub.account("owner@example.com")
            let begun = try await client.call(.post, "/api/v1/account/two-factor", token: owner.token)
            expectStatus(begun, .created)
            let secret = try #require(begun.json["secret"].string)
            #expect(begun.json["uri"].string?.hasPrefix("otpauth://totp/") == true)
            expectError(
                try await client.call(.post, "/api/v1/account/two-factor/confirm", token: owner.token, body: #"{"code":"000000"}"#), .badRequest,
                field: "code")
            expectStatus(try await Self.login(client, owner.email, owner.password), .created)  // still off
            var step = TOTP.step(at: hub.clock.now())
            let confirmed = try await client.call(
                .post, "/api/v1/account/two-factor/confirm", token: owner.token, body: #"{"code":"\#(TOTP.code(secret: secret, step: step)!)"}"#)
            expectStatus(confirmed, .ok)
            let recovery = confirmed.json["recoveryCodes"].array.compactMap(\.string)
            #expect(recovery.count == 10)

            expectError(try await Self.login(client, owner.email, owner.password), .unauthorized, code: "two_factor_required")
            expectError(
                try await Self.login(client, owner.email, owner.password, code: TOTP.code(secret: secret, step: step)), .unauthorized,
                code: "wrong_code")  // the confirming code was used
            hub.clock.advance(by: 30)
            step += 1
            let fresh = TOTP.code(secret: secret, step: step)!
            expectStatus(try await Self.login(client, owner.email, owner.password, code: fresh), .created)
            expectError(try await Self.login(client, owner.email, owner.password, code: fresh), .unauthorized, code: "wrong_code")
            expectError(
                try await Self.login(client, owner.email, "not the password", code: TOTP.code(secret: secret, step: step + 1)), .unauthorized,
                code: "unauthorized")
            // One step ahead is accepted (a fast phone clock); two are not.
            expectError(
                try await Self.login(client, owner.email, owner.password, code: TOTP.code(secret: secret, step: step + 2)), .unauthorized,
                code: "wrong_code")
            expectStatus(try await Self.login(client, owner.email, owner.password, code: TOTP.code(secret: secret, step: step + 1)), .created)
            // A recovery code works once.
            expectStatus(try await Self.login(client, owner.email, owner.password, code: recovery[3].uppercased()), .created)
            expectError(try await Self.login(client, owner.email, owner.password, code: recovery[3]), .unauthorized, code: "wrong_code")
            let status = try await client.call(.get, "/api/v1/account/two-factor", token: owner.token)
            #expect(status.json["enabled"].bool == true)
            #expect(status.json["recoveryCodesLeft"].int == 9)
            // Off again with a recovery code; then the password alone signs in.
            expectStatus(
                try await client.call(.post, "/api/v1/account/two-factor/disable", token: owner.token, body: #"{"code":"\#(recovery[0])"}"#), .ok)
            expectStatus(try await Self.login(client, owner.email, owner.password), .created)
        }
    }

    @Test func anOwnerRequiresTwoFactorOfEveryMember() async throws {
        try await withTestHub { hub, client in
            let owner = try await hub.account("owner@example.com")
            let member = try await APIRoleTests.member(hub, client, owner: owner, email: "ops@example.com", role: .operator)
            expectError(
                try await client.call(.put, "/api/v1/account/two-factor-policy", token: member.token, body: #"{"required":true}"#), .forbidden,
                code: "forbidden_role")
            let required = try await client.call(.put, "/api/v1/account/two-factor-policy", token: owner.token, body: #"{"required":true}"#)
            expectStatus(required, .ok)
            #expect(required.json["required"].bool == true)
            let login = try await Self.login(client, member.email, member.password)
            expectStatus(login, .created)
            let cookie = try #require(login.cookies[Authenticator.sessionCookie]?.value)
            let headers: HTTPFields = [.cookie: "\(Authenticator.sessionCookie)=\(cookie)", .mzpanelRequest: "1"]
            expectError(try await client.call(.get, "/api/v1/servers", headers: headers), .forbidden, code: "two_factor_required")
            expectError(
                try await client.call(.post, "/api/v1/tokens", body: #"{"name":"around"}"#, headers: headers), .forbidden, code: "two_factor_required"
            )
            #expect(
                Authenticator.allowedBeforeTwoFactor("/backups/account") && Authenticator.allowedBeforeTwoFactor("/backups/account/two-factor/begin"))
            #expect(!Authenticator.allowedBeforeTwoFactor("/backups/account/tokens") && !Authenticator.allowedBeforeTwoFactor("/backups/jobs"))
            let begun = try await client.call(.post, "/api/v1/account/two-factor", headers: headers)
            expectStatus(begun, .created)
            let secret = try #require(begun.json["secret"].string)
            let code = TOTP.code(secret: secret, step: TOTP.step(at: hub.clock.now()))!
            expectStatus(try await client.call(.post, "/api/v1/account/two-factor/confirm", body: #"{"code":"\#(code)"}"#, headers: headers), .ok)
            expectStatus(try await client.call(.get, "/api/v1/servers", headers: headers), .ok)
            expectError(
                try await client.call(.post, "/api/v1/account/two-factor/disable", body: #"{"code":"\#(code)"}"#, headers: headers), .conflict,
                field: "code")
        }
    }
}
