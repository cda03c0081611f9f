import Crypto
import Foundation
import Sealing
import Testing

/// The hub plays against its user (docs/security.md, "A malicious hub"): its database is altered
/// behind its back, and the CLI must not seal a credential to anything the user did not certify.
@Suite("a hostile hub gets nothing sealed", .serialized)
struct HostileHubEndToEndTests {
    @Test(
        "a certified server's key swapped in the hub's database: attach and jobs add refuse, nothing is sealed to the new key",
        .enabled(if: Fleet.available, "mzpanel, mzpanel-agent or restic is missing"))
    func swappedKey() async throws {
        let secrets = try OffsiteEndToEndTests.Secrets()
        let fleet = try await Fleet(plan: "plus")
        defer { fleet.shutdown() }
        let agent = try await fleet.enroll("web-1")
        try await fleet.trust(agent, vault: secrets.vaultArguments)
        let added = try await fleet.cli.run(
            [
                "destinations", "add", "offsite", "--kind", "s3", "--endpoint", "http://127.0.0.1:1", "--bucket", "nothing-here",
                "--access-key-id-file", secrets.file("key-id").path, "--secret-access-key-file", secrets.file("secret").path,
            ] + secrets.vaultArguments)
        #expect(added.status == 0, "\(added.stderr)")

        // The attacker's key, with a fingerprint that matches it, so every check the hub makes passes.
        let attacker = Curve25519.KeyAgreement.PrivateKey().publicKey.rawRepresentation
        let fingerprint = KeyFingerprint.of(attacker)
        try await fleet.tamper(
            "UPDATE servers SET public_key = '\(attacker.base64EncodedString())', key_fingerprint = '\(fingerprint)' WHERE id = '\(agent.serverID)'")

        let attach = try await fleet.cli.run(["destinations", "attach", "offsite", "--server", "web-1"] + secrets.vaultArguments)
        #expect(attach.status != 0, "\(attach.stdout)")
        #expect(attach.stderr.contains("not certified by your account key"), "\(attach.stderr)")
        #expect(attach.stderr.contains(fingerprint), "the message names the fingerprint the box must show: \(attach.stderr)")
        let tree = try fleet.makeTree("site")
        let job = try await fleet.cli.run(
            [
                "jobs", "add", "nightly", "--server", "web-1", "--kind", "full", "--path", tree.path, "--schedule", "daily",
                "--destination", "offsite",
            ] + secrets.vaultArguments)
        #expect(job.stderr.contains("not certified by your account key"), "\(job.stdout)\(job.stderr)")
        let envelopes = try await fleet.api("GET", "/api/v1/destinations/offsite/envelopes")
        #expect((envelopes["envelopes"] as? [Any])?.isEmpty == true, "nothing sealed: \(envelopes)")

        // Certifying the swapped key with the fingerprint read on the box is refused too.
        let real = try await agent.run(["fingerprint"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let trust = try await fleet.cli.run(["servers", "trust", "web-1", "--fingerprint", real] + secrets.vaultArguments)
        #expect(trust.status != 0 && trust.stderr.contains("nothing was certified"), "\(trust.stderr)")
    }
}
