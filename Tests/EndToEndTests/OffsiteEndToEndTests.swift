import Foundation
import Testing

/// The moto S3 server `scripts/test` starts (MZPANEL_TEST_S3_URL).
enum MotoS3 {
    static var url: String? { ProcessInfo.processInfo.environment["MZPANEL_TEST_S3_URL"].flatMap { $0.isEmpty ? nil : $0 } }
    static var available: Bool { url != nil && Fleet.available }
}

/// Offsite destinations with sealed credentials against a real S3 server (moto), directly and
/// through an rclone remote: the secret reaches restic and nothing else.
@Suite("offsite destinations end to end", .serialized)
struct OffsiteEndToEndTests {
    @Test("CI provides the S3 server these tests need")
    func s3ServerIsThereOnCI() {
        if ProcessInfo.processInfo.environment["CI"] == "true" {
            #expect(MotoS3.available, "MZPANEL_TEST_S3_URL is not set: scripts/test starts moto and exports it")
        }
    }

    /// Secrets in a directory outside the fleet's, so a search of the fleet's files finds only leaks.
    struct Secrets {
        let directory: URL
        let accessKeyID = "AKIAMZ" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(14).uppercased()
        let secretAccessKey = "mzs3-secret-" + UUID().uuidString
        let repositoryPassword = "mzrp-password-" + UUID().uuidString
        let passphrase = "vault passphrase " + UUID().uuidString

        init() throws {
            directory = FileManager.default.temporaryDirectory.appendingPathComponent("mzpanel-secrets-\(UUID().uuidString.prefix(8))")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            for (name, value) in [("key-id", accessKeyID), ("secret", secretAccessKey), ("password", repositoryPassword), ("passphrase", passphrase)]
            {
                try (value + "\n").write(to: file(name), atomically: true, encoding: .utf8)
            }
        }

        func file(_ name: String) -> URL { directory.appendingPathComponent(name) }
        var vaultArguments: [String] { ["--vault-passphrase-file", file("passphrase").path] }
        var all: [String] { [secretAccessKey, repositoryPassword, passphrase] }
    }

    func bucket() -> String { "mzpanel-test-" + UUID().uuidString.prefix(8).lowercased() }

    /// Adds a job writing to `destinations`, waits until the agent knows it.
    func addJob(_ fleet: Fleet, agent: Fleet.Agent, tree: URL, destinations: [String], secrets: Secrets) async throws -> String {
        let added = try await fleet.cli.run(
            [
                "jobs", "add", "nightly", "--server", "web-1", "--kind", "full", "--path", tree.path,
                "--schedule", "daily 03:00", "--keep-last", "3", "--json",
            ]
                + destinations.flatMap { ["--destination", $0] } + secrets.vaultArguments)
        #expect(added.status == 0, "\(added.stderr)")
        let jobID = try #require(added.object["id"] as? String, "\(added.stdout)\(added.stderr)")
        let known = try await fleet.eventually(30) { try await agent.run(["status", "--json"]).stdout.contains(jobID) }
        #expect(known)
        return jobID
    }

    /// Runs the job now and returns the finished run; samples every command line meanwhile.
    func runSampled(_ fleet: Fleet) async throws -> ([String: Any], Set<String>) {
        let sampler = ProcessSampler()
        sampler.start()
        let result = try await fleet.cli.run(["jobs", "run", "nightly", "--wait", "--json"])
        let lines = sampler.stop()
        return (result.object, lines)
    }

    /// No secret in the hub's data and logs, the agents' state and logs, the CLI's config, or any command line.
    func expectNoLeak(_ secrets: Secrets, fleet: Fleet, commandLines: Set<String>) {
        #expect(commandLines.count > 10, "the sampler saw too few processes to prove anything")
        #expect(commandLines.contains { $0.contains("restic") }, "restic never ran while sampling")
        for secret in secrets.all {
            #expect(FileSearch.files(under: fleet.directory, containing: secret).isEmpty, "a secret leaked into a file")
            #expect(!commandLines.contains { $0.contains(secret) }, "a secret appeared in a command line")
        }
    }

    func restoreAndCompare(repository: String, environment: [String: String], tree: URL, file: String) async throws {
        let target = FileManager.default.temporaryDirectory.appendingPathComponent("mzpanel-restore-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: target) }
        var env = ["PATH": "/usr/bin:/bin", "HOME": NSTemporaryDirectory()]
        env.merge(environment) { _, new in new }
        let restic = CommandRunner(binary: URL(fileURLWithPath: "/usr/bin/restic"), environment: env)
        let original = tree.appendingPathComponent(file).path
        let restored = try await restic.run(["-r", repository, "restore", "latest", "--target", target.path, "--include", original])
        #expect(restored.status == 0, "\(restored.stderr)")
        let copy = try Data(contentsOf: URL(fileURLWithPath: target.path + original))
        #expect(copy == (try Data(contentsOf: URL(fileURLWithPath: original))))
    }

    @Test(
        "s3 through the CLI: sealed credential, one run writes local and s3 copies, a file restores, no secret anywhere",
        .enabled(if: MotoS3.available, "MZPANEL_TEST_S3_URL is not set"))
    func s3() async throws {
        let s3 = try #require(MotoS3.url)
        let secrets = try Secrets()
        let fleet = try await Fleet(plan: "plus")
        defer { fleet.shutdown() }
        let agent = try await fleet.enroll("web-1")
        _ = try fleet.startDaemon(agent)
        let local = try await fleet.cli.run([
            "destinations", "add", "here", "--kind", "local", "--path", fleet.directory.appendingPathComponent("repos").path,
        ])
        #expect(local.status == 0, "\(local.stderr)")
        let bucket = bucket()
        let recovery = secrets.file("recovery")
        let added = try await fleet.cli.run(
            [
                "destinations", "add", "offsite", "--kind", "s3", "--endpoint", s3, "--bucket", bucket, "--prefix", "backups",
                "--access-key-id-file", secrets.file("key-id").path, "--secret-access-key-file", secrets.file("secret").path,
                "--repository-password-file", secrets.file("password").path, "--recovery-key-out", recovery.path,
            ]
                + secrets.vaultArguments)
        #expect(added.status == 0, "\(added.stderr)")
        try await fleet.trust(agent, vault: secrets.vaultArguments)
        #expect(added.stderr.contains("Recovery key"), "the new vault's recovery key is shown once")
        #expect(FileManager.default.fileExists(atPath: recovery.path))
        // Trust mode starts with the vault: what the account already had is signed, so its servers keep running it.
        #expect(added.stderr.contains("Signed destination here (local)"), "\(added.stderr)")
        #expect(try await fleet.api("GET", "/api/v1/destinations/here")["manifestState"] as? String == "signed")

        let tree = try fleet.makeTree("site")
        let jobID = try await addJob(fleet, agent: agent, tree: tree, destinations: ["here", "offsite"], secrets: secrets)
        let (run, lines) = try await runSampled(fleet)
        #expect(run["status"] as? String == "succeeded", "\(run)")
        let results = (run["results"] as? [[String: Any]]) ?? []
        #expect(results.count == 2 && results.allSatisfy { $0["status"] as? String == "succeeded" }, "\(results)")

        let repository = "s3:\(s3)/\(bucket)/backups/\(agent.serverID)"
        let credentials = [
            "AWS_ACCESS_KEY_ID": secrets.accessKeyID, "AWS_SECRET_ACCESS_KEY": secrets.secretAccessKey, "RESTIC_PASSWORD": secrets.repositoryPassword,
        ]
        try await restoreAndCompare(repository: repository, environment: credentials, tree: tree, file: "sub/file-3.bin")
        let snapshots = try await CommandRunner(
            binary: URL(fileURLWithPath: "/usr/bin/restic"),
            environment: credentials.merging(["PATH": "/usr/bin:/bin", "HOME": NSTemporaryDirectory()]) { a, _ in a }
        )
        .run(["-r", repository, "snapshots", "--json", "--tag", "job=\(jobID)"])
        #expect((snapshots.json as? [Any])?.count == 1)
        expectNoLeak(secrets, fleet: fleet, commandLines: lines)
    }

    @Test(
        "rclone remote at the same S3 server: configured through the environment, no rclone.conf on the server, no secret anywhere",
        .enabled(if: MotoS3.available, "MZPANEL_TEST_S3_URL is not set"))
    func rclone() async throws {
        let s3 = try #require(MotoS3.url)
        let secrets = try Secrets()
        let fleet = try await Fleet(plan: "plus")
        defer { fleet.shutdown() }
        let agent = try await fleet.enroll("web-1")
        _ = try fleet.startDaemon(agent)
        let bucket = bucket()
        let config = """
            [moto]
            type = s3
            provider = Other
            access_key_id = \(secrets.accessKeyID)
            secret_access_key = \(secrets.secretAccessKey)
            endpoint = \(s3)

            """
        try config.write(to: secrets.file("rclone.conf"), atomically: true, encoding: .utf8)
        let added = try await fleet.cli.run(
            [
                "destinations", "add", "cloud", "--kind", "rclone", "--remote", "moto", "--prefix", "\(bucket)/restic",
                "--rclone-config-file", secrets.file("rclone.conf").path,
                "--repository-password-file", secrets.file("password").path,
            ] + secrets.vaultArguments)
        #expect(added.status == 0, "\(added.stderr)")
        try await fleet.trust(agent, vault: secrets.vaultArguments)
        let tree = try fleet.makeTree("site")
        _ = try await addJob(fleet, agent: agent, tree: tree, destinations: ["cloud"], secrets: secrets)
        let (run, lines) = try await runSampled(fleet)
        #expect(run["status"] as? String == "succeeded", "\(run)")
        #expect(lines.contains { $0.contains("rclone") }, "restic reached the remote through rclone")
        #expect(FileSearch.files(under: agent.stateDir, containing: "[moto]").isEmpty, "no rclone.conf written on the server")

        let repository = "s3:\(s3)/\(bucket)/restic/\(agent.serverID)"
        try await restoreAndCompare(
            repository: repository,
            environment: [
                "AWS_ACCESS_KEY_ID": secrets.accessKeyID, "AWS_SECRET_ACCESS_KEY": secrets.secretAccessKey,
                "RESTIC_PASSWORD": secrets.repositoryPassword,
            ],
            tree: tree, file: "file-4.bin")
        expectNoLeak(secrets, fleet: fleet, commandLines: lines)
    }

    @Test(
        "an unreachable offsite destination fails alone: the local copy is written and the run is partial",
        .enabled(if: Fleet.available, "mzpanel, mzpanel-agent or restic is missing"))
    func partial() async throws {
        let secrets = try Secrets()
        let fleet = try await Fleet(plan: "plus")
        defer { fleet.shutdown() }
        let agent = try await fleet.enroll("web-1")
        _ = try fleet.startDaemon(agent)
        _ = try await fleet.cli.run([
            "destinations", "add", "here", "--kind", "local", "--path", fleet.directory.appendingPathComponent("repos").path,
        ])
        let added = try await fleet.cli.run(
            [
                "destinations", "add", "down", "--kind", "s3", "--endpoint", "http://127.0.0.1:1", "--bucket", "nothing-here",
                "--access-key-id-file", secrets.file("key-id").path, "--secret-access-key-file", secrets.file("secret").path,
            ]
                + secrets.vaultArguments)
        #expect(added.status == 0, "\(added.stderr)")
        try await fleet.trust(agent, vault: secrets.vaultArguments)
        let tree = try fleet.makeTree("site")
        _ = try await addJob(fleet, agent: agent, tree: tree, destinations: ["here", "down"], secrets: secrets)
        let (run, _) = try await runSampled(fleet)
        #expect(run["status"] as? String == "partial", "\(run)")
        let results = (run["results"] as? [[String: Any]]) ?? []
        #expect(results.map { $0["status"] as? String } == ["succeeded", "failed"], "\(results)")
    }

    @Test(
        "an envelope copied to another server does not open there: the run says so in plain words",
        .enabled(if: Fleet.available, "mzpanel, mzpanel-agent or restic is missing"))
    func swappedEnvelope() async throws {
        let secrets = try Secrets()
        let fleet = try await Fleet(plan: "plus")
        defer { fleet.shutdown() }
        let first = try await fleet.enroll("web-1")
        let second = try await fleet.enroll("web-2")
        _ = try fleet.startDaemon(second)
        try await fleet.trust(first, vault: secrets.vaultArguments)
        let added = try await fleet.cli.run(
            [
                "destinations", "add", "offsite", "--kind", "s3", "--endpoint", "http://127.0.0.1:1", "--bucket", "nothing-here",
                "--access-key-id-file", secrets.file("key-id").path, "--secret-access-key-file", secrets.file("secret").path,
                "--attach", "web-1",
            ] + secrets.vaultArguments)
        #expect(added.status == 0, "\(added.stderr)")
        // A hub that swaps envelopes: web-1's envelope stored for web-2 (under web-2's key id, which the hub knows).
        let envelope = try await fleet.api("GET", "/api/v1/destinations/offsite/envelopes/\(first.serverID)")
        let server = try await fleet.api("GET", "/api/v1/servers/\(second.serverID)")
        let stored = try await fleet.api(
            "PUT", "/api/v1/destinations/offsite/envelopes/\(second.serverID)",
            body: ["keyID": server["keyFingerprint"] as Any, "version": 1, "ciphertext": envelope["ciphertext"] as Any])
        #expect(stored["serverID"] as? String == second.serverID)
        let tree = try fleet.makeTree("site")
        let job = try await fleet.cli.run(
            [
                "jobs", "add", "nightly", "--server", "web-2", "--kind", "full", "--path", tree.path,
                "--schedule", "daily", "--destination", "offsite", "--json",
            ] + secrets.vaultArguments)
        #expect(job.status == 0, "\(job.stderr)")
        let jobID = try #require(job.object["id"] as? String)
        #expect(try await fleet.eventually(30) { try await second.run(["status", "--json"]).stdout.contains(jobID) })
        let run = try await fleet.cli.run(["jobs", "run", "nightly", "--server", "web-2", "--wait", "--json"])
        #expect(run.object["status"] as? String == "failed")
        let error = ((run.object["results"] as? [[String: Any]])?.first?["error"] as? String) ?? ""
        #expect(error.hasPrefix("the credential cannot be opened on this server"), "\(run.stdout)")
    }
}
