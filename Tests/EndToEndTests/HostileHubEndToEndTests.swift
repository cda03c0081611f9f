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

/// Signed manifests (docs/sealing.md): the box runs what the account signed, nothing the hub
/// changed behind the user's back, and no older signed version the hub sends back.
@Suite("a hostile hub cannot redirect or rewrite a signed job", .serialized)
struct SignedManifestEndToEndTests {
    @Test(
        "signed jobs run; a destination or job changed in the hub's database, an unsigned job and a replayed manifest are refused on the box",
        .enabled(if: Fleet.available, "mzpanel, mzpanel-agent or restic is missing"))
    func refusals() async throws {
        let secrets = try OffsiteEndToEndTests.Secrets()
        let vault = secrets.vaultArguments
        let fleet = try await Fleet(plan: "plus")
        defer { fleet.shutdown() }
        let first = try await fleet.enroll("web-1")
        try await fleet.trust(first, vault: vault)  // creates the vault and its signing key

        // Enrolled after the account has a key: the printed command carries its fingerprint and the box pins it.
        let agent = try await fleet.enroll("web-2")
        let signingKey = try #require(try await fleet.api("GET", "/api/v1/vault")["signingKey"] as? String)
        let accountFingerprint = KeyFingerprint.of(try #require(Data(base64Encoded: signingKey)))
        #expect(try await agent.run(["trust"]).stdout.contains(accountFingerprint))

        let repositories = fleet.directory.appendingPathComponent("repositories")
        let elsewhere = fleet.directory.appendingPathComponent("elsewhere")
        let destination = try await fleet.cli.run(["destinations", "add", "here", "--kind", "local", "--path", repositories.path] + vault)
        #expect(destination.stdout.contains("Signed with the account key"), "\(destination.stderr)")
        let tree = try fleet.makeTree("site")
        let added = try await fleet.cli.run(
            [
                "jobs", "add", "nightly", "--server", "web-2", "--kind", "full", "--path", tree.path, "--schedule", "daily",
                "--destination", "here", "--keep-last", "3",
            ] + vault)
        #expect(added.stdout.contains("Signed job nightly"), "\(added.stdout)\(added.stderr)")
        let jobID = try #require(try await fleet.api("GET", "/api/v1/jobs/nightly")["id"] as? String)
        #expect(try await fleet.api("GET", "/api/v1/jobs/nightly")["manifestState"] as? String == "signed")
        _ = try fleet.startDaemon(agent)
        #expect(try await runNow(fleet)["status"] as? String == "succeeded")

        // The hub points the destination somewhere else: nothing is written there.
        let settings = try await fleet.sql("SELECT settings FROM destinations WHERE name = 'here'")
        try await fleet.tamper("UPDATE destinations SET settings = json_set(settings, '$.path', '\(elsewhere.path)') WHERE name = 'here'")
        #expect(try await fleet.api("GET", "/api/v1/destinations/here")["manifestState"] as? String == "changed")
        try await syncAgent(fleet, agent, until: elsewhere.path)
        let redirected = try await runNow(fleet)
        #expect(redirected["status"] as? String == "failed")
        #expect(error(of: redirected).contains("destination here differs from what your account signed (settings)"), "\(redirected)")
        #expect(!FileManager.default.fileExists(atPath: elsewhere.path), "nothing was written to the new location")
        let health = try await fleet.api("GET", "/api/v1/jobs/nightly")["health"] as? String
        #expect(health == "failing", "the refusal counts as a failure (and alerts like one)")
        try await fleet.tamper("UPDATE destinations SET settings = '\(settings)' WHERE name = 'here'")

        // The hub adds a path to the job.
        let sources = try await fleet.sql("SELECT sources FROM jobs WHERE id = '\(jobID)'")
        try await fleet.tamper("UPDATE jobs SET sources = json_set(sources, '$.paths', json_array('/etc')) WHERE id = '\(jobID)'")
        try await syncAgent(fleet, agent, until: "\"/etc\"")
        let rewritten = try await runNow(fleet)
        #expect(rewritten["status"] as? String == "failed")
        #expect(error(of: rewritten).contains("job nightly differs from what your account signed (sources)"), "\(rewritten)")
        try await fleet.tamper("UPDATE jobs SET sources = '\(sources)' WHERE id = '\(jobID)'")

        // Drill settings are signed with the job; a drill on the job's own server needs no signature of its own.
        let drillSet = try await fleet.cli.run(["jobs", "edit", "nightly", "--drill", "weekly", "--drill-sample", "50%"] + vault)
        #expect(drillSet.stdout.contains("Signed job nightly"), "\(drillSet.stdout)\(drillSet.stderr)")
        #expect(try await fleet.api("GET", "/api/v1/jobs/nightly")["manifestState"] as? String == "signed")
        let drill = try await fleet.cli.run(["jobs", "drill", "nightly", "--wait", "--json"])
        #expect(drill.object["status"] as? String == "succeeded", "\(drill.stdout)\(drill.stderr)")

        // A new signed version; then the hub sends back the older one with its old retention.
        let oldManifest = try await fleet.sql("SELECT manifest FROM jobs WHERE id = '\(jobID)'")
        let oldRetention = try await fleet.sql("SELECT retention FROM jobs WHERE id = '\(jobID)'")
        let edited = try await fleet.cli.run(["jobs", "edit", "nightly", "--keep-last", "9"] + vault)
        #expect(edited.stdout.contains("Signed job nightly"), "\(edited.stdout)\(edited.stderr)")
        try await syncAgent(fleet, agent, until: "\"keepLast\" : 9")
        #expect(try await runNow(fleet)["status"] as? String == "succeeded", "the box accepts the newer version")
        try await fleet.tamper("UPDATE jobs SET manifest = '\(oldManifest)', retention = '\(oldRetention)' WHERE id = '\(jobID)'")
        try await syncAgent(fleet, agent, until: "\"keepLast\" : 3")
        let replayed = try await runNow(fleet)
        #expect(replayed["status"] as? String == "failed")
        #expect(error(of: replayed).contains("older than version"), "\(replayed)")

        // Without the vault passphrase the CLI changes nothing rather than leave an unsigned job.
        let unsignable = try await fleet.cli.run([
            "jobs", "add", "quick", "--server", "web-2", "--kind", "full", "--path", tree.path, "--schedule", "daily", "--destination", "here",
        ])
        #expect(unsignable.status != 0 && unsignable.stderr.contains("Nothing was changed"), "\(unsignable.stderr)")
        #expect(try await fleet.api("GET", "/api/v1/jobs/quick")["id"] == nil, "no job was created")

        // A job made through the API alone (a stolen token) is never signed: refused.
        let tokenJob = try await fleet.api(
            "POST", "/api/v1/jobs",
            body: [
                "name": "exfiltrate", "server": "web-2", "kind": "full", "sources": ["paths": ["/root"]], "schedule": "daily",
                "destinations": ["here"],
            ])
        #expect(tokenJob["manifestState"] as? String == "unsigned", "\(tokenJob)")
        try await syncAgent(fleet, agent, until: "exfiltrate")
        let unsigned = try await fleet.cli.run(["jobs", "run", "exfiltrate", "--wait", "--json"])
        #expect(unsigned.object["status"] as? String == "failed", "\(unsigned.stdout)")
        #expect(error(of: unsigned.object).contains("is not signed by your account key"), "\(unsigned.stdout)")
    }

    private func runNow(_ fleet: Fleet) async throws -> [String: Any] {
        try await fleet.cli.run(["jobs", "run", "nightly", "--wait", "--json"]).object
    }

    private func error(of run: [String: Any]) -> String {
        ((run["results"] as? [[String: Any]])?.compactMap { $0["error"] as? String } ?? []).joined(separator: " ")
    }

    /// Makes the hub tell the agent to sync (a harmless change) and waits until its job file shows `text`.
    private func syncAgent(_ fleet: Fleet, _ agent: Fleet.Agent, until text: String) async throws {
        _ = try await fleet.api("PATCH", "/api/v1/jobs/nightly", body: ["staleAfter": Int.random(in: 100_000...200_000)])
        let jobs = agent.stateDir.appendingPathComponent("jobs.json")
        let synced = try await fleet.eventually(30) {
            let content = (try? String(contentsOf: jobs, encoding: .utf8)) ?? ""
            // The job file is JSON: slashes may be escaped.
            return content.contains(text) || content.contains(text.replacingOccurrences(of: "/", with: "\\/"))
        }
        #expect(synced, "the agent fetched the changed job set (\(text))")
    }
}
