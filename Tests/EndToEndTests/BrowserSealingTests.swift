import BackupCore
import Crypto
import Foundation
import Sealing
import Testing

/// The browser's sealing modules (Sources/ControlPlane/Resources/static/js) in a real headless Chromium, driven through
/// Tests/Browser/jsbridge.py (selenium), against the Swift implementation the CLI and agent use.
enum Chromium {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static var available: Bool {
        FileManager.default.isExecutableFile(atPath: "/usr/bin/chromium") && FileManager.default.isExecutableFile(atPath: "/usr/bin/chromedriver")
    }

    /// Runs async JavaScript function bodies (with `args`) in one browser session; returns their results.
    static func run(_ requests: [(script: String, args: [String: Any])]) async throws -> [Any] {
        let runner = CommandRunner(binary: URL(fileURLWithPath: "/usr/bin/env"), environment: ProcessInfo.processInfo.environment)
        let body = requests.map { ["script": $0.script, "args": $0.args] as [String: Any] }
        let input = String(decoding: try JSONSerialization.data(withJSONObject: body), as: UTF8.self)
        let result = try await runner.run(["python3", repository.appendingPathComponent("Tests/Browser/jsbridge.py").path], stdin: input)
        #expect(result.status == 0, "\(result.stderr)")
        return (result.json as? [Any]) ?? []
    }
}

@Suite("browser sealing interoperates with the agent and CLI", .serialized)
struct BrowserSealingTests {
    @Test("CI provides Chromium and chromedriver")
    func chromiumIsThereOnCI() {
        if ProcessInfo.processInfo.environment["CI"] == "true" { #expect(Chromium.available, "scripts/test installs chromium and chromium-driver") }
    }

    @Test("the browser modules pass RFC 9180's vectors and their own format tests in Chromium", .enabled(if: Chromium.available))
    func vectorsInChromium() async throws {
        let runner = CommandRunner(binary: URL(fileURLWithPath: "/usr/bin/env"), environment: ProcessInfo.processInfo.environment)
        let result = try await runner.run(["python3", Chromium.repository.appendingPathComponent("Tests/Browser/test_hpke_vectors.py").path])
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        #expect(
            result.stdout.contains("514 encryptions sealed and opened") || result.stderr.contains("514 encryptions sealed and opened"),
            "\(result.stdout)\(result.stderr)")
    }

    @Test(
        "the page scripts (destination form, attach form, copy, confirm, schedule preview, live run) pass their Chromium tests",
        .enabled(if: Chromium.available), arguments: ["test_destination_form.py", "test_app.py"])
    func pageScripts(_ script: String) async throws {
        let runner = CommandRunner(binary: URL(fileURLWithPath: "/usr/bin/env"), environment: ProcessInfo.processInfo.environment)
        let result = try await runner.run(["python3", Chromium.repository.appendingPathComponent("Tests/Browser/\(script)").path])
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        #expect((result.stdout + result.stderr).contains(" 0 failed"), "\(result.stdout)\(result.stderr)")
    }

    let credential = ["repositoryPassword": "restic-pw-\(UUID().uuidString)", "accessKeyID": "AKIA42", "secretAccessKey": "s3-\(UUID().uuidString)"]

    @Test("sealed in Chromium, opened by the agent's Swift code; the browser's vault unlocks in Swift", .enabled(if: Chromium.available))
    func browserSealsSwiftOpens() async throws {
        let server = Curve25519.KeyAgreement.PrivateKey()
        let keyID = KeyFingerprint.of(server.publicKey.rawRepresentation)
        let script = """
            const s = bridge.sealing;
            const created = await s.createVault(args.account, args.passphrase);
            const { record, ddk } = await s.createDestinationKey(args.account, args.destination, created.vaultKey, args.credential);
            const ciphertext = await s.sealEnvelope({ accountID: args.account, destinationID: args.destination, serverID: args.server,
              keyID: args.keyID, serverPublicKey: args.publicKey, ddk, credentialBox: record.credential });
            return { vault: created.vault, recoveryKey: created.recoveryKey, record, ciphertext, keyID: await s.fingerprint(s.base64Decode(args.publicKey)) };
            """
        let results = try await Chromium.run([
            (
                script,
                [
                    "account": "acc_1", "destination": "dst_1", "server": "srv_1", "keyID": keyID,
                    "publicKey": server.publicKey.rawRepresentation.base64EncodedString(),
                    "passphrase": "browser passphrase 1", "credential": credential,
                ]
            )
        ])
        let output = try #require(results.first as? [String: Any])
        #expect(output["keyID"] as? String == keyID, "the browser computes the same key fingerprint")
        let ciphertextText = try #require(output["ciphertext"] as? String)
        let ciphertext = try #require(Data(base64Encoded: ciphertextText))
        let opened = try Envelope.open(
            ciphertext, address: .init(accountID: "acc_1", destinationID: "dst_1", serverID: "srv_1", keyID: keyID), privateKey: server)
        #expect(opened.credential.fields == credential)

        let vault = try JSONDecoder().decode(VaultDocument.self, from: JSONSerialization.data(withJSONObject: try #require(output["vault"])))
        #expect(try vault.validated() == vault, "the hub accepts the browser's vault")
        let vaultKey = try Vault.unlock(vault, accountID: "acc_1", passphrase: "browser passphrase 1")
        #expect(try Vault.unlock(vault, accountID: "acc_1", recoveryKey: try #require(output["recoveryKey"] as? String)) == vaultKey)
        let record = try JSONDecoder().decode(DestinationKeyRecord.self, from: JSONSerialization.data(withJSONObject: try #require(output["record"])))
        let dataKey = try DestinationKey.open(record, accountID: "acc_1", destinationID: "dst_1", vaultKey: vaultKey)
        #expect(try DestinationKey.credential(record, accountID: "acc_1", destinationID: "dst_1", dataKey: dataKey).fields == credential)
    }

    @Test(
        "a member's own wrapping made in Swift opens in Chromium with their own passphrase; the shared one still works",
        .enabled(if: Chromium.available))
    func memberWrappingOpensInChromium() async throws {
        let vault = try Vault.create(accountID: "acc_7", passphrase: "the shared vault passphrase")
        let (key, _) = try MemberVault.createKey(accountID: "acc_7", memberID: "usr_7", passphrase: "the member's own passphrase")
        let wrapping = String(decoding: try MemberVault.wrap(vaultKey: vault.vaultKey, accountID: "acc_7", for: key), as: UTF8.self)
        let encoder = JSONEncoder()
        var document = try #require(try JSONSerialization.jsonObject(with: encoder.encode(vault.document)) as? [String: Any])
        document["member"] = [
            "memberID": "usr_7", "key": try JSONSerialization.jsonObject(with: encoder.encode(key)), "keyID": key.keyID, "wrapped": true,
            "wrapping": wrapping, "updatedAt": "2026-12-05T04:00:00Z",
        ]
        let script = """
            const s = bridge.sealing;
            const hex = (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
            const own = hex(await s.unlockVaultWithPassphrase(args.account, args.vault, args.own));
            const shared = hex(await s.unlockVaultWithPassphrase(args.account, args.vault, args.shared));
            const none = await s.unlockVaultAsMember(args.account, args.vault.member, args.shared);
            let wrong = "opened";
            try { await s.unlockVaultWithPassphrase(args.account, args.vault, "neither passphrase"); } catch (error) { wrong = error.message; }
            let altered = "opened";
            const tampered = { ...args.vault.member, wrapping: args.vault.member.wrapping.slice(0, -6) + "AAAAAA" };
            try { await s.unlockVaultAsMember(args.account, tampered, args.own); } catch (error) { altered = error.message; }
            const signed = await s.addSigningKey(args.account, args.vault, await s.unlockVault(args.account, args.vault, args.shared));
            return { own, shared, none, wrong, altered, stripped: !("member" in signed.vault) };
            """
        let output = try #require(
            try await Chromium.run([
                (
                    script,
                    [
                        "account": "acc_7", "vault": document, "own": "the member's own passphrase", "shared": "the shared vault passphrase",
                    ] as [String: Any]
                )
            ]).first as? [String: Any])
        let expected = vault.vaultKey.map { String(format: "%02x", $0) }.joined()
        #expect(output["own"] as? String == expected)
        #expect(output["shared"] as? String == expected)
        #expect(output["none"] is NSNull)
        #expect((output["wrong"] as? String)?.hasPrefix("the vault passphrase is wrong") == true, "\(output)")
        #expect((output["altered"] as? String)?.contains("does not open") == true, "\(output)")
        #expect(output["stripped"] as? Bool == true, "a vault document sent back carries no member field")
    }

    @Test(
        "made by the CLI's Swift code, unlocked in Chromium and sealed there to a second server without the credential",
        .enabled(if: Chromium.available))
    func swiftSealsBrowserAddsServer() async throws {
        let first = Curve25519.KeyAgreement.PrivateKey()
        let second = Curve25519.KeyAgreement.PrivateKey()
        let vault = try Vault.create(accountID: "acc_9", passphrase: "cli passphrase 99")
        let (record, dataKey) = try DestinationKey.create(
            accountID: "acc_9", destinationID: "dst_9", vaultKey: vault.vaultKey,
            credential: DestinationCredential(fields: credential))
        let firstKeyID = KeyFingerprint.of(first.publicKey.rawRepresentation)
        let envelope = try Envelope.seal(
            to: .init(accountID: "acc_9", destinationID: "dst_9", serverID: "srv_1", keyID: firstKeyID),
            serverPublicKey: first.publicKey.rawRepresentation, dataKey: dataKey, credentialBox: record.credential,
            serverSecrets: ["restUser": "srv_1", "restPassword": "peer-pw"])
        let secondKeyID = KeyFingerprint.of(second.publicKey.rawRepresentation)
        let script = """
            const s = bridge.sealing;
            const vaultKey = await s.unlockVault(args.account, args.vault, args.passphrase);
            const { ddk, credentialBox } = await s.openDestinationKey(args.account, args.destination, vaultKey, args.record);
            const opened = await s.openEnvelope({ accountID: args.account, destinationID: args.destination, serverID: "srv_1", keyID: args.firstKeyID,
              serverPrivateKey: s.base64Decode(args.firstPrivateKey), ciphertext: args.envelope });
            const sealed = await s.sealEnvelope({ accountID: args.account, destinationID: args.destination, serverID: "srv_2", keyID: args.secondKeyID,
              serverPublicKey: args.secondPublicKey, ddk, credentialBox });
            let wrong = "opened";
            try { await s.unlockVault(args.account, args.vault, "not the passphrase"); } catch (error) { wrong = error.message; }
            return { credential: opened.credential, serverSecrets: opened.serverSecrets, sealed, wrong };
            """
        let encoder = JSONEncoder()
        let args: [String: Any] = [
            "account": "acc_9", "destination": "dst_9", "passphrase": "cli passphrase 99",
            "vault": try JSONSerialization.jsonObject(with: encoder.encode(vault.document)),
            "record": try JSONSerialization.jsonObject(with: encoder.encode(record)),
            "envelope": envelope.base64EncodedString(), "firstKeyID": firstKeyID, "firstPrivateKey": first.rawRepresentation.base64EncodedString(),
            "secondKeyID": secondKeyID, "secondPublicKey": second.publicKey.rawRepresentation.base64EncodedString(),
        ]
        let output = try #require(try await Chromium.run([(script, args)]).first as? [String: Any])
        #expect(output["credential"] as? [String: String] == credential)
        #expect(output["serverSecrets"] as? [String: String] == ["restUser": "srv_1", "restPassword": "peer-pw"])
        #expect((output["wrong"] as? String)?.hasPrefix("the vault passphrase is wrong") == true)
        let sealedText = try #require(output["sealed"] as? String)
        let sealed = try #require(Data(base64Encoded: sealedText))
        let opened = try Envelope.open(
            sealed, address: .init(accountID: "acc_9", destinationID: "dst_9", serverID: "srv_2", keyID: secondKeyID), privateKey: second)
        #expect(opened.credential.fields == credential)
    }

    @Test(
        "the account signing key opens alike in Swift and Chromium, and each certifies server keys the other verifies",
        .enabled(if: Chromium.available))
    func signingKeysAndCertificatesInteroperate() async throws {
        let vault = try Vault.create(accountID: "acc_7", passphrase: "cli passphrase 77")
        let serverKey = Curve25519.KeyAgreement.PrivateKey().publicKey.rawRepresentation
        let swiftCertificate = try ServerCertificate.issue(accountID: "acc_7", serverID: "srv_7", publicKey: serverKey, signingKey: vault.signingKey)
        let script = """
            const s = bridge.sealing;
            const attempt = async (f) => { try { await f(); return null; } catch (e) { return e.message; } };
            const vaultKey = await s.unlockVault(args.account, args.vault, args.passphrase);
            const key = await s.openSigningKey(args.account, args.vault, vaultKey);
            const publicKey = s.base64Decode(args.vault.signingKey);
            const certificate = await s.certifyServer(args.account, "srv_7", args.serverKey, key);
            const changed = await s.changeVaultPassphrase(args.account, args.vault, vaultKey, "browser passphrase 77");
            const keptKey = await s.openSigningKey(args.account, changed, await s.unlockVault(args.account, changed, "browser passphrase 77"));
            const browserVault = await s.createVault("acc_8", "browser passphrase 88");
            return {
              fingerprint: key.fingerprint, certificate, keptFingerprint: keptKey.fingerprint, browserVault: browserVault.vault,
              swiftCertificateHolds: await s.verifyServerCertificate(args.swiftCertificate, args.account, "srv_7", args.serverKey, publicKey),
              otherServer: await s.verifyServerCertificate(args.swiftCertificate, args.account, "srv_8", args.serverKey, publicKey),
              garbage: await s.verifyServerCertificate("not base64!", args.account, "srv_7", args.serverKey, publicKey),
              altered: await attempt(() => s.openSigningKey(args.account, { ...args.vault, signingKey: browserVault.vault.signingKey }, vaultKey)),
            };
            """
        let args: [String: Any] = [
            "account": "acc_7", "passphrase": "cli passphrase 77", "serverKey": serverKey.base64EncodedString(),
            "vault": try JSONSerialization.jsonObject(with: JSONEncoder().encode(vault.document)), "swiftCertificate": swiftCertificate,
        ]
        let output = try #require(try await Chromium.run([(script, args)]).first as? [String: Any])
        #expect(output["fingerprint"] as? String == vault.signingKey.fingerprint, "one key, one fingerprint")
        #expect(output["keptFingerprint"] as? String == vault.signingKey.fingerprint, "a passphrase change keeps the signing key")
        #expect(output["swiftCertificateHolds"] as? Bool == true)
        #expect(output["otherServer"] as? Bool == false)
        #expect(output["garbage"] as? Bool == false)
        #expect((output["altered"] as? String)?.contains("was altered") == true, "\(output["altered"] ?? "nil")")
        let browserCertificate = try #require(output["certificate"] as? String)
        #expect(
            ServerCertificate.isValid(
                browserCertificate, accountID: "acc_7", serverID: "srv_7", publicKey: serverKey, accountKey: vault.signingKey.publicKey))
        let browserVaultJSON = try JSONSerialization.data(withJSONObject: try #require(output["browserVault"]))
        let browserVault = try JSONDecoder().decode(VaultDocument.self, from: browserVaultJSON)
        _ = try browserVault.validated()
        let unlocked = try Vault.unlock(browserVault, accountID: "acc_8", passphrase: "browser passphrase 88")
        #expect(try Vault.signingKey(browserVault, accountID: "acc_8", vaultKey: unlocked) != nil, "a browser-made vault signs in Swift too")
    }
}
