import Foundation
import Testing

/// The hub serving HTTPS itself (`serve --tls-cert/--tls-key`) with a certificate from a private CA
/// made by openssl: the agent and the CLI trust it only through `--ca-file`.
@Suite(
    "the hub over HTTPS with a private CA", .serialized,
    .enabled(if: Fleet.available && TestCertificates.available, "mzpanel, mzpanel-agent, restic or openssl is missing"))
struct TLSEndToEndTests {
    @Test("an agent enrolled with --ca-file syncs and runs over HTTPS; without it, or with another CA, it is refused in plain words")
    func privateAuthority() async throws {
        let fleet = try await Fleet(tls: true)
        defer { fleet.shutdown() }
        let tls = try #require(fleet.tls)
        #expect(fleet.url.hasPrefix("https://"))

        let added = try await fleet.cli.run(["servers", "add", "web-1", "--json"])
        #expect(added.status == 0, "\(added.stderr)")
        let token = try #require((added.object["enrollment"] as? [String: Any])?["secret"] as? String)
        let stateDir = fleet.directory.appendingPathComponent("agent-web-1")
        let agent = CommandRunner(binary: fleet.agentBinary, environment: fleet.cli.environment)
        let enroll = ["enroll", "--url", fleet.url, "--token-file", "-", "--state-dir", stateDir.path, "--no-systemd"]

        let untrusted = try await agent.run(enroll, stdin: token)
        #expect(untrusted.status != 0)
        #expect(untrusted.stderr.contains("not trusted by the system's certificate authorities"), "\(untrusted.stderr)")
        #expect(untrusted.stderr.contains("--ca-file"), "\(untrusted.stderr)")

        let otherCA = try await agent.run(enroll + ["--ca-file", tls.otherAuthority.path], stdin: token)
        #expect(otherCA.status != 0)
        #expect(otherCA.stderr.contains("does not verify against the CA file \(tls.otherAuthority.path)"), "\(otherCA.stderr)")

        // Both refusals happened before the token reached the hub: it still enrolls.
        let enrolled = try await agent.run(enroll + ["--ca-file", tls.authority.path], stdin: token)
        #expect(enrolled.status == 0, "\(enrolled.stdout)\(enrolled.stderr)")
        let stored = stateDir.appendingPathComponent("hub-ca.pem")
        #expect(FileManager.default.contents(atPath: stored.path) == FileManager.default.contents(atPath: tls.authority.path))

        // Every later call (the daemon's sync and the run it is told to start) uses the stored copy.
        let server = try #require(added.object["server"] as? [String: Any])
        let web1 = Fleet.Agent(serverID: try #require(server["id"] as? String), stateDir: stateDir, runner: agent)
        _ = try fleet.startDaemon(web1)
        let repositories = fleet.directory.appendingPathComponent("repos")
        #expect(try await fleet.cli.run(["destinations", "add", "here", "--kind", "local", "--path", repositories.path]).status == 0)
        let tree = try fleet.makeTree("site")
        let job = try await fleet.cli.run([
            "jobs", "add", "nightly", "--server", "web-1", "--kind", "full", "--path", tree.path, "--schedule", "daily 03:00",
            "--keep-last", "3", "--destination", "here", "--json",
        ])
        let jobID = try #require(job.object["id"] as? String, "\(job.stderr)")
        let synced = try await fleet.eventually(30) { try await web1.run(["status", "--json"]).stdout.contains(jobID) }
        #expect(synced, "the daemon never fetched the job over HTTPS")
        let run = try await fleet.cli.run(["jobs", "run", "nightly", "--wait", "--json"])
        #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
        #expect(run.object["status"] as? String == "succeeded")

        // The CLI without the CA file is refused with what to do.
        var bare = fleet.cli
        bare.environment["MZPANEL_CONFIG"] = fleet.directory.appendingPathComponent("bare.json").path
        bare.environment["MZPANEL_URL"] = fleet.url
        bare.environment["MZPANEL_TOKEN"] = "unused"
        let refused = try await bare.run(["servers", "list"])
        #expect(refused.status != 0)
        #expect(refused.stderr.contains("--ca-file"), "\(refused.stderr)")
    }
}
