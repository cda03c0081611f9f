import Foundation
import Testing

/// Per-member vault access with real processes (docs/sealing.md, "Member wrappings"): the owner creates the vault,
/// an admin makes their own member key, the owner grants it after comparing fingerprints, and the admin then adds an
/// offsite destination sealed to a server with only their own passphrase; a backup to it succeeds. Removing the
/// admin deletes their key and wrapping; the vault document (and its recovery key) is unchanged.
@Suite("member vault access end to end", .serialized)
struct MemberVaultEndToEndTests {
    /// Accepts an invitation in the join form as a browser would (its cookie and form token), with `password`.
    static func join(url: String, invitation: String, password: String, directory: URL) async throws {
        let jar = directory.appendingPathComponent("join-cookies").path
        let curl = CommandRunner(binary: URL(fileURLWithPath: "/usr/bin/curl"), environment: ProcessInfo.processInfo.environment)
        let page = try await curl.run(["-s", "-c", jar, invitation])
        let csrf = try #require(
            page.stdout.components(separatedBy: "name=\"csrf\" value=\"").dropFirst().first?.components(separatedBy: "\"").first, "\(page.stdout)")
        let secret = try #require(invitation.components(separatedBy: "invitation=").last)
        let posted = try await curl.run([
            "-s", "-o", "/dev/null", "-w", "%{http_code}", "-b", jar, "-c", jar, "-H", "Origin: \(url)", "--data-urlencode", "csrf=\(csrf)",
            "--data-urlencode", "invitation=\(secret)", "--data-urlencode", "password=\(password)", "--data-urlencode", "confirm=\(password)",
            url + "/backups/join",
        ])
        #expect(posted.stdout == "303", "joining answered \(posted.stdout)")
    }

    @Test(
        "an admin seals with their own passphrase once the owner grants their member key; removal deletes the wrapping",
        .enabled(if: MotoS3.available, "MZPANEL_TEST_S3_URL is not set"))
    func adminSealsWithTheirOwnPassphrase() async throws {
        let s3 = try #require(MotoS3.url)
        let secrets = try OffsiteEndToEndTests.Secrets()
        let fleet = try await Fleet(plan: "plus")
        defer { fleet.shutdown() }
        let agent = try await fleet.enroll("web-1")
        _ = try fleet.startDaemon(agent)

        // The owner creates the vault with the first offsite destination and certifies the server.
        let bucket = "mzpanel-test-" + UUID().uuidString.prefix(8).lowercased()
        let s3Arguments = [
            "--kind", "s3", "--endpoint", s3, "--bucket", bucket, "--access-key-id-file", secrets.file("key-id").path,
            "--secret-access-key-file", secrets.file("secret").path, "--repository-password-file", secrets.file("password").path,
        ]
        let first = try await fleet.cli.run(
            ["destinations", "add", "offsite", "--prefix", "owner"] + s3Arguments + ["--recovery-key-out", secrets.file("recovery").path]
                + secrets.vaultArguments)
        #expect(first.status == 0, "\(first.stderr)")
        try await fleet.trust(agent, vault: secrets.vaultArguments)
        let vaultBefore = try await fleet.sql("SELECT document FROM vaults")
        #expect(!vaultBefore.isEmpty)

        // An admin joins and signs in with their own CLI configuration.
        let invited = try await fleet.cli.run(["members", "invite", "admin@example.com", "--role", "admin", "--json"])
        let link = try #require(invited.object["url"] as? String, "\(invited.stderr)")
        let password = "the admin's sign-in password"
        try await Self.join(url: fleet.url, invitation: link, password: password, directory: fleet.directory)
        let passwordFile = secrets.file("admin-password")
        try (password + "\n").write(to: passwordFile, atomically: true, encoding: .utf8)
        var admin = fleet.cli
        admin.environment["MZPANEL_CONFIG"] = fleet.directory.appendingPathComponent("admin.json").path
        let login = try await admin.run(["login", "--url", fleet.url, "--email", "admin@example.com", "--password-file", passwordFile.path])
        #expect(login.status == 0, "\(login.stderr)")

        // Without a grant the admin has only the shared passphrase, which they do not have.
        let own = secrets.file("admin-own")
        try "the admin's own vault passphrase\n".write(to: own, atomically: true, encoding: .utf8)
        let made = try await admin.run(["vault", "member-key", "--passphrase-file", own.path])
        #expect(made.status == 0, "\(made.stderr)")
        let fingerprint = try #require(
            made.stdout.components(separatedBy: "Your member key: ").dropFirst().first?.components(separatedBy: "\n").first, "\(made.stdout)")
        let early = try await admin.run(
            ["destinations", "add", "early", "--prefix", "early"] + s3Arguments + ["--member-passphrase-file", own.path])
        #expect(early.status != 0 && early.stderr.contains("not granted to your member key"), "no wrapping yet: \(early.stderr)")

        // A wrong fingerprint grants nothing; the one the admin read grants.
        let wrong = try await fleet.cli.run(["vault", "grant", "admin@example.com", "--fingerprint", "0000:1111"] + secrets.vaultArguments)
        #expect(wrong.status != 0 && wrong.stderr.contains("nothing was granted"), "\(wrong.stderr)")
        let granted = try await fleet.cli.run(["vault", "grant", "admin@example.com", "--fingerprint", fingerprint] + secrets.vaultArguments)
        #expect(granted.status == 0, "\(granted.stderr)")
        #expect(try await fleet.cli.run(["vault", "members"]).stdout.contains("admin@example.com  \(fingerprint)  granted"))

        // The admin adds a destination and a job sealed to web-1 with their own passphrase only; the backup succeeds.
        let added = try await admin.run(
            ["destinations", "add", "admin-offsite", "--prefix", "admin"] + s3Arguments + ["--member-passphrase-file", own.path])
        #expect(added.status == 0, "\(added.stderr)")
        let tree = try fleet.makeTree("site")
        let job = try await admin.run(
            [
                "jobs", "add", "nightly", "--server", "web-1", "--kind", "full", "--path", tree.path, "--schedule", "daily 03:00",
                "--keep-last", "3", "--destination", "admin-offsite", "--member-passphrase-file", own.path, "--json",
            ])
        #expect(job.status == 0, "\(job.stderr)")
        let jobID = try #require(job.object["id"] as? String, "\(job.stdout)\(job.stderr)")
        #expect(try await fleet.eventually(30) { try await agent.run(["status", "--json"]).stdout.contains(jobID) })
        let run = try await admin.run(["jobs", "run", "nightly", "--wait", "--json"])
        #expect(run.object["status"] as? String == "succeeded", "\(run.stdout)\(run.stderr)")

        // Removing the admin deletes their key and wrapping; the vault document is unchanged.
        #expect(try await fleet.sql("SELECT count(*) FROM member_vault_keys WHERE wrapping IS NOT NULL") == "1")
        let removed = try await fleet.cli.run(["members", "remove", "admin@example.com"])
        #expect(removed.status == 0, "\(removed.stderr)")
        #expect(try await fleet.sql("SELECT count(*) FROM member_vault_keys") == "0")
        #expect(
            try await admin.run(["destinations", "add", "late", "--prefix", "late"] + s3Arguments + ["--member-passphrase-file", own.path]).status
                != 0)
        #expect(try await fleet.sql("SELECT document FROM vaults") == vaultBefore)
    }
}
