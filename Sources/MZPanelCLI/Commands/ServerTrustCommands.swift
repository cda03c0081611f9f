import ArgumentParser
import BackupCore
import Foundation
import HubAPI
import Sealing

/// Certifying a server's key with the account signing key (docs/sealing.md, "Server
/// certificates"): the CLI seals only to certified keys, so a key the hub swapped gets nothing.
enum CertifyServer {
    static func uncertified(_ server: Server, publicKey: Data) -> CLIError {
        let fingerprint = KeyFingerprint.of(publicKey)
        return CLIError(
            """
            server \(server.name)'s key is not certified by your account key, so nothing is sealed to it. \
            On \(server.name), run `mzpanel-agent fingerprint`: it must print \(fingerprint). If it does, run \
            `mzpanel servers trust \(server.name) --fingerprint \(fingerprint)`; if it does not, the key the hub holds is not \
            that server's: do not trust it.
            """)
    }
}

struct TrustServer: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "trust",
        abstract: "Certify a server's key with the account signing key (unlocks the vault); sealing needs it.",
        discussion: """
            Read the fingerprint on the server itself (`mzpanel-agent fingerprint`, or the line `mzpanel-agent enroll` printed),
            never from the hub: the point is that a hub which swapped the key cannot make you certify it.
            """)
    @Argument(help: "Server id or name.") var server: String
    @Option(name: .long, help: "The key fingerprint as the server prints it (`mzpanel-agent fingerprint`).") var fingerprint: String
    @OptionGroup var vault: VaultOptions
    @OptionGroup var options: ClientOptions

    func run() async throws {
        let client = try options.client()
        let item = try await client.send("GET", "/api/v1/servers/\(server.pathSegment)", as: Server.self)
        guard let publicKeyText = item.publicKey, let publicKey = Data(base64Encoded: publicKeyText), publicKey.count == 32 else {
            throw CLIError("server \(item.name) has not enrolled yet, so it has no key to certify; run `mzpanel-agent enroll` on it first")
        }
        let actual = KeyFingerprint.of(publicKey)
        guard KeyFingerprint.normalized(fingerprint) == KeyFingerprint.normalized(actual) else {
            throw CLIError(
                """
                the key the hub holds for \(item.name) has fingerprint \(actual), not \(fingerprint): nothing was certified. \
                If \(item.name) enrolled again, read its fingerprint again (`mzpanel-agent fingerprint`); otherwise the hub's key is not \
                that server's.
                """)
        }
        let access = VaultAccess(client: client, options: vault)
        let accountID = try await access.accountID()
        let unlocked = try await access.open(accountID: accountID, create: true)
        let certificate = try ServerCertificate.issue(accountID: accountID, serverID: item.id, publicKey: publicKey, signingKey: unlocked.signingKey)
        let data = try await client.raw(
            "PUT", "/api/v1/servers/\(item.id)/certificate", body: CertificateRequest(certificate: certificate, keyFingerprint: actual))
        if options.json { return Output.json(data) }
        print("Certified server \(item.name) (key \(actual)) with the account key \(unlocked.signingKey.fingerprint).")
    }
}

struct RevokeServer: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "revoke", abstract: "Revoke a server's certificate: nothing more is sealed to it; lists what it can still open.")
    @Argument(help: "Server id or name.") var server: String
    @OptionGroup var options: ClientOptions

    func run() async throws {
        let data = try await options.client().raw("DELETE", "/api/v1/servers/\(server.pathSegment)/certificate")
        if options.json { return Output.json(data) }
        let revoked = try HubDecoding.decode(CertificateRevoked.self, data)
        print("Revoked the certificate of server \(revoked.server.name): browsers and the CLI no longer seal to it.")
        if !revoked.exposedDestinations.isEmpty {
            print(
                "Its agent can still open the credentials of: \(revoked.exposedDestinations.map(\.name).joined(separator: ", ")). "
                    + "Rotate them if the server may be compromised: mzpanel destinations rotate DESTINATION with the provider's new keys.")
        }
    }
}
