import Foundation
import Testing

/// `mzpanel destinations rotate`: a new repository password and provider keys sealed only to
/// still-certified servers, and the repository re-keyed so the former password opens nothing.
@Suite("rotating a destination's credential after a revoke", .serialized)
struct DestinationRotationEndToEndTests {
    @Test(
        "rotate seals the new credential to the certified server, removes the revoked server's envelope, re-keys the repository, and backups go on",
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
        let bucket = "mzpanel-rotate-" + UUID().uuidString.prefix(8).lowercased()
        let added = try await fleet.cli.run(
            [
                "destinations", "add", "offsite", "--kind", "s3", "--endpoint", s3, "--bucket", bucket,
                "--access-key-id-file", secrets.file("key-id").path, "--secret-access-key-file", secrets.file("secret").path,
                "--repository-password-file", secrets.file("password").path,
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

        // The repository as a revoked server could leave it: one more key, for a password of its own.
        let repository = "s3:\(s3)/\(bucket)/\(first.serverID)"
        let extra = try await Self.restic(password: secrets.repositoryPassword).run(
            ["-r", repository, "key", "add", "--new-password-file", secrets.file("key-id").path])
        #expect(extra.status == 0, "\(extra.stderr)")
        #expect(try await Self.opens(repository, password: secrets.accessKeyID))

        #expect(try await fleet.cli.run(["servers", "revoke", "web-2"]).status == 0)
        let newKeyID = secrets.file("new-key-id")
        let newSecret = secrets.file("new-secret")
        let newSecretValue = "rotated-secret-" + UUID().uuidString
        try "AKIAROTATED0000001\n".write(to: newKeyID, atomically: true, encoding: .utf8)
        try (newSecretValue + "\n").write(to: newSecret, atomically: true, encoding: .utf8)
        let newPassword = secrets.file("new-password")
        let newPasswordValue = "rotated-password-" + UUID().uuidString
        try (newPasswordValue + "\n").write(to: newPassword, atomically: true, encoding: .utf8)
        let rotated = try await fleet.cli.run(
            [
                "destinations", "rotate", "offsite", "--access-key-id-file", newKeyID.path, "--secret-access-key-file", newSecret.path,
                "--repository-password-file", newPassword.path,
            ] + vault)
        #expect(rotated.status == 0, "\(rotated.stdout)\(rotated.stderr)")
        #expect(rotated.stdout.contains("sealed to web-1") && rotated.stdout.contains("removed the envelopes of web-2"), "\(rotated.stdout)")
        #expect(try await fleet.api("GET", "/api/v1/destinations/offsite")["sealedTo"] as? [String] == [first.serverID])
        let after = try await fleet.api("GET", "/api/v1/destinations/offsite/envelopes/\(first.serverID)")["ciphertext"] as? String
        #expect(after != nil && after != before, "web-1 has a new envelope")

        // web-1 re-keys its repository, then backs up with the new keys and password into it.
        let run = try await fleet.cli.run(["jobs", "run", "nightly", "--wait", "--json"])
        #expect(run.object["status"] as? String == "succeeded", "\(run.stdout)\(run.stderr)")
        let shown = try await fleet.api("GET", "/api/v1/runs/\(run.object["id"] as? String ?? "-")")
        let log = shown["logExcerpt"] as? String ?? ""
        #expect(log.contains("credential was rotated") && log.contains("removed 2 older keys"), "\(log)")
        #expect(try await Self.opens(repository, password: newPasswordValue), "the new password opens the repository")
        #expect(try await !Self.opens(repository, password: secrets.repositoryPassword), "the former password opens nothing")
        #expect(try await !Self.opens(repository, password: secrets.accessKeyID), "the revoked server's own key is gone")
        let keys = try await Self.restic(password: newPasswordValue).run(["-r", repository, "key", "list", "--json"])
        #expect((try JSONSerialization.jsonObject(with: Data(keys.stdout.utf8)) as? [Any])?.count == 1, "\(keys.stdout)")
        let snapshots = try await Self.restic(password: newPasswordValue).run(["-r", repository, "snapshots", "--json"])
        #expect((try JSONSerialization.jsonObject(with: Data(snapshots.stdout.utf8)) as? [Any])?.count == 2, "both runs' snapshots are kept")
        for secret in [newSecretValue, newPasswordValue] {
            #expect(FileSearch.files(under: fleet.directory, containing: secret).isEmpty, "the new credential reached no file of the hub or agents")
        }
        #expect(!log.contains(newPasswordValue) && !log.contains(secrets.repositoryPassword))

        // A second run finds the repository settled: no re-keying again.
        let again = try await fleet.cli.run(["jobs", "run", "nightly", "--wait", "--json"])
        #expect(again.object["status"] as? String == "succeeded", "\(again.stdout)\(again.stderr)")
        let againLog = try await fleet.api("GET", "/api/v1/runs/\(again.object["id"] as? String ?? "-")")["logExcerpt"] as? String ?? ""
        #expect(!againLog.contains("credential was rotated"), "\(againLog)")

        // The same keys again, contradicting or empty options: refused, nothing changed.
        let same = try await fleet.cli.run(
            [
                "destinations", "rotate", "offsite", "--keep-repository-password", "--access-key-id-file", newKeyID.path,
                "--secret-access-key-file", newSecret.path,
            ] + vault)
        #expect(same.status != 0 && same.stderr.contains("already has"), "\(same.stderr)")
        let contradiction = try await fleet.cli.run(
            [
                "destinations", "rotate", "offsite", "--keep-repository-password", "--repository-password-file", newPassword.path,
            ] + vault)
        #expect(contradiction.status != 0 && contradiction.stderr.contains("contradict"), "\(contradiction.stderr)")
        let nothing = try await fleet.cli.run(["destinations", "rotate", "offsite", "--keep-repository-password"] + vault)
        #expect(nothing.status != 0 && nothing.stderr.contains("nothing to rotate"), "\(nothing.stderr)")
        #expect(try await fleet.api("GET", "/api/v1/destinations/offsite/envelopes/\(first.serverID)")["ciphertext"] as? String == after)
    }

    /// restic against moto (which takes any access key), with one password.
    static func restic(password: String) -> CommandRunner {
        CommandRunner(
            binary: URL(fileURLWithPath: "/usr/bin/restic"),
            environment: [
                "PATH": "/usr/bin:/bin", "HOME": NSTemporaryDirectory(), "RESTIC_PASSWORD": password,
                "AWS_ACCESS_KEY_ID": "AKIATEST", "AWS_SECRET_ACCESS_KEY": "test",
            ])
    }

    /// True when `password` opens the repository.
    static func opens(_ repository: String, password: String) async throws -> Bool {
        try await restic(password: password).run(["-r", repository, "--no-lock", "cat", "config"]).status == 0
    }
}
