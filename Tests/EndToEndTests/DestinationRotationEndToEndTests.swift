import Foundation
import Testing

/// `mzpanel destinations rotate`: new provider keys sealed only to still-certified servers.
@Suite("rotating a destination's provider keys after a revoke", .serialized)
struct DestinationRotationEndToEndTests {
    @Test(
        "rotate seals the new keys to the certified server, removes the revoked server's envelope, and backups go on",
        .enabled(if: MotoS3.available, "MZPANEL_TEST_S3_URL is not set"))
    func rotateAfterRevoke() async throws {
        let s3 = try #require(MotoS3.url)
        let secrets = try OffsiteEndToEndTests.Secrets()
        let vault = secrets.vaultArguments
        let fleet = try await Fleet(plan: "plus")
        defer { fleet.shutdown() }
        let first = try await fleet.enroll("web-1")
        let second = try await fleet.enroll("web-2")
        _ = try fleet.startDaemon(first)
        let added = try await fleet.cli.run(
            [
                "destinations", "add", "offsite", "--kind", "s3", "--endpoint", s3, "--bucket",
                "mzpanel-rotate-" + UUID().uuidString.prefix(8).lowercased(),
                "--access-key-id-file", secrets.file("key-id").path, "--secret-access-key-file", secrets.file("secret").path,
            ] + vault)
        #expect(added.status == 0, "\(added.stderr)")
        try await fleet.trust(first, vault: vault)
        try await fleet.trust(second, vault: vault)
        let attached = try await fleet.cli.run(["destinations", "attach", "offsite", "--server", "web-1", "--server", "web-2"] + vault)
        #expect(attached.status == 0, "\(attached.stderr)")
        let tree = try fleet.makeTree("site")
        _ = try await OffsiteEndToEndTests().addJob(fleet, agent: first, tree: tree, destinations: ["offsite"], secrets: secrets)
        #expect(try await fleet.cli.run(["jobs", "run", "nightly", "--wait", "--json"]).object["status"] as? String == "succeeded")
        let before = try await fleet.api("GET", "/api/v1/destinations/offsite/envelopes/\(first.serverID)")["ciphertext"] as? String

        #expect(try await fleet.cli.run(["servers", "revoke", "web-2"]).status == 0)
        let newKeyID = secrets.file("new-key-id")
        let newSecret = secrets.file("new-secret")
        let newSecretValue = "rotated-secret-" + UUID().uuidString
        try "AKIAROTATED0000001\n".write(to: newKeyID, atomically: true, encoding: .utf8)
        try (newSecretValue + "\n").write(to: newSecret, atomically: true, encoding: .utf8)
        let rotated = try await fleet.cli.run(
            ["destinations", "rotate", "offsite", "--access-key-id-file", newKeyID.path, "--secret-access-key-file", newSecret.path] + vault)
        #expect(rotated.status == 0, "\(rotated.stdout)\(rotated.stderr)")
        #expect(rotated.stdout.contains("sealed to web-1") && rotated.stdout.contains("removed the envelopes of web-2"), "\(rotated.stdout)")
        #expect(try await fleet.api("GET", "/api/v1/destinations/offsite")["sealedTo"] as? [String] == [first.serverID])
        let after = try await fleet.api("GET", "/api/v1/destinations/offsite/envelopes/\(first.serverID)")["ciphertext"] as? String
        #expect(after != nil && after != before, "web-1 has a new envelope")

        // web-1 backs up with the new keys into the same repository (same restic password).
        let run = try await fleet.cli.run(["jobs", "run", "nightly", "--wait", "--json"])
        #expect(run.object["status"] as? String == "succeeded", "\(run.stdout)\(run.stderr)")
        #expect(FileSearch.files(under: fleet.directory, containing: newSecretValue).isEmpty, "the new secret reached no file of the hub or agents")

        // The same keys again, a repository password, or a local destination: refused, nothing changed.
        let same = try await fleet.cli.run(
            ["destinations", "rotate", "offsite", "--access-key-id-file", newKeyID.path, "--secret-access-key-file", newSecret.path] + vault)
        #expect(same.status != 0 && same.stderr.contains("already has"), "\(same.stderr)")
        let password = try await fleet.cli.run(
            [
                "destinations", "rotate", "offsite", "--access-key-id-file", newKeyID.path, "--secret-access-key-file", newSecret.path,
                "--repository-password-file", secrets.file("password").path,
            ] + vault)
        #expect(password.status != 0 && password.stderr.contains("keeps the restic repository password"), "\(password.stderr)")
        #expect(try await fleet.api("GET", "/api/v1/destinations/offsite/envelopes/\(first.serverID)")["ciphertext"] as? String == after)
    }
}
