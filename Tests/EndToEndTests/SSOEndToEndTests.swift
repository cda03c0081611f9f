import Foundation
import Testing

/// Single sign-on in Chromium against a real OpenID Connect provider on this machine
/// (Tests/Support/oidc_provider.py) and a real `mzpanel serve`: the owner sets the provider up with
/// the CLI (the client secret from a file), signs in with SSO from the login page, and a new person
/// of the account's email domain joins with the default role.
@Suite("single sign-on in Chromium end to end", .serialized, .enabled(if: Fleet.available && Chromium.available, "mzpanel or chromium is missing"))
struct SSOEndToEndTests {
    static let clientSecret = "e2e-provider-client-secret-41d8"

    /// The provider, its settings on standard input.
    final class Provider: Sendable {
        let process: Process
        let port: Int
        var issuer: String { "http://127.0.0.1:\(port)" }

        init(redirectURI: String) throws {
            process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["python3", Chromium.repository.appendingPathComponent("Tests/Support/oidc_provider.py").path]
            let input = Pipe()
            let output = Pipe()
            process.standardInput = input
            process.standardOutput = output
            try process.run()
            let settings: [String: Any] = ["clientID": "mzpanel-hub", "clientSecret": SSOEndToEndTests.clientSecret, "redirectURIs": [redirectURI]]
            input.fileHandleForWriting.write(try JSONSerialization.data(withJSONObject: settings) + Data("\n".utf8))
            var line = Data()
            while let byte = try output.fileHandleForReading.read(upToCount: 1), !byte.isEmpty, byte != Data("\n".utf8) { line.append(byte) }
            port = Int(String(decoding: line, as: UTF8.self)) ?? 0
        }

        func stop() {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    @Test("the owner sets up SSO with the CLI; in Chromium the owner signs in with SSO and a new person of the domain joins as operator")
    func signInWithSSO() async throws {
        let fleet = try await Fleet(hubArguments: ["--allow-private-webhooks"])
        defer { fleet.shutdown() }
        let provider = try Provider(redirectURI: fleet.url + "/backups/sso/callback")
        defer { provider.stop() }
        #expect(provider.port > 0)
        let secretFile = fleet.directory.appendingPathComponent("sso-client-secret")
        try Self.clientSecret.write(to: secretFile, atomically: true, encoding: .utf8)
        let set = try await fleet.cli.run([
            "sso", "set", "--issuer", provider.issuer, "--client-id", "mzpanel-hub", "--client-secret-file", secretFile.path,
            "--default-role", "operator", "--allow-join", "--domain", "example.org",
        ])
        #expect(set.status == 0, "\(set.stderr)")
        #expect(set.stdout.contains("set (never shown)") && !set.stdout.contains(Self.clientSecret), "\(set.stdout)")
        let shown = try await fleet.cli.run(["sso", "show", "--json"])
        #expect(shown.object["clientSecretSet"] as? Bool == true && shown.object["issuer"] as? String == provider.issuer, "\(shown.stdout)")

        let request: [String: Any] = [
            "scenario": "sso", "url": fleet.url, "email": "ops@example.com", "password": "a long enough passphrase", "newcomer": "new@example.org",
            "screenshots": Chromium.repository.appendingPathComponent("test-output/screenshots/sso").path,
        ]
        let runner = CommandRunner(binary: URL(fileURLWithPath: "/usr/bin/env"), environment: ProcessInfo.processInfo.environment)
        let input = String(decoding: try JSONSerialization.data(withJSONObject: request), as: UTF8.self)
        let result = try await runner.run(["python3", Chromium.repository.appendingPathComponent("Tests/Browser/ui_flow.py").path], stdin: input)
        #expect(result.status == 0, "\(result.stderr)")
        let seen = result.object
        #expect(seen["ownerSignedIn"] as? Bool == true, "\(seen)")
        #expect(seen["ownerRole"] as? String == "owner", "\(seen)")
        #expect((seen["ssoState"] as? String)?.contains("join as operator") == true, "the account page says who joins: \(seen)")
        #expect(seen["newcomerSignedIn"] as? Bool == true, "\(seen)")
        #expect(seen["newcomerRole"] as? String == "operator", "\(seen)")
        #expect((seen["consoleErrors"] as? [String])?.isEmpty == true, "\(seen["consoleErrors"] ?? "")")

        let members = try await fleet.cli.run(["members", "list", "--json"])
        let listed = (members.object["members"] as? [[String: Any]] ?? []).map { "\($0["email"] ?? "") \($0["role"] ?? "")" }
        #expect(Set(listed) == ["ops@example.com owner", "new@example.org operator"], "\(members.stdout)")
        let audit = try await fleet.cli.run(["audit", "--json"])
        #expect(audit.stdout.contains("Log in with single sign-on"), "audited")
        let log = (try? String(contentsOf: fleet.directory.appendingPathComponent("hub.log"), encoding: .utf8)) ?? ""
        #expect(!log.contains(Self.clientSecret) && !audit.stdout.contains(Self.clientSecret), "the client secret is in no log")

        let off = try await fleet.cli.run(["sso", "disable"])
        #expect(off.status == 0 && off.stdout.contains("off"), "\(off.stderr)")
    }
}
