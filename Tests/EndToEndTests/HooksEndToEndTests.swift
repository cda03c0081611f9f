import Foundation
import Sealing
import Testing

/// Hooks, bandwidth limits and the retention preview with a real hub, agent daemon, CLI and restic,
/// in trust mode (the account key pinned on the box).
@Suite("hooks, bandwidth limits and the retention preview, end to end", .serialized)
struct HooksEndToEndTests {
    @Test(
        "signed hooks run in their policy; a hook changed in the hub's database is refused on the box; a signed upload limit and a dry run change nothing else",
        .enabled(if: Fleet.available, "mzpanel, mzpanel-agent or restic is missing"))
    func hooksInTrustMode() async throws {
        let secrets = try OffsiteEndToEndTests.Secrets()
        let vault = secrets.vaultArguments
        let fleet = try await Fleet(plan: "plus")
        defer { fleet.shutdown() }
        let first = try await fleet.enroll("web-1")
        try await fleet.trust(first, vault: vault)
        let agent = try await fleet.enroll("web-2")  // pins the account key
        let marks = fleet.directory.appendingPathComponent("marks").path
        let pwned = fleet.directory.appendingPathComponent("pwned").path
        let repositories = fleet.directory.appendingPathComponent("repositories")
        _ = try await fleet.cli.run(["destinations", "add", "here", "--kind", "local", "--path", repositories.path] + vault)
        let tree = try fleet.makeTree("site")
        let added = try await fleet.cli.run(
            [
                "jobs", "add", "nightly", "--server", "web-2", "--kind", "full", "--path", tree.path, "--schedule", "daily",
                "--destination", "here", "--keep-last", "5", "--before", "echo before >> \(marks)", "--finally",
                "echo finally-$MZPANEL_RUN_STATUS >> \(marks)", "--hook-timeout", "1m",
            ] + vault)
        #expect(added.stdout.contains("Signed job nightly"), "\(added.stdout)\(added.stderr)")
        let job = try await fleet.api("GET", "/api/v1/jobs/nightly")
        let jobID = try #require(job["id"] as? String)
        #expect((job["hooks"] as? [String: Any])?["timeoutSeconds"] as? Int == 60)
        #expect(job["manifestState"] as? String == "signed")
        _ = try fleet.startDaemon(agent)
        let ran = try await runNow(fleet)
        #expect(ran["status"] as? String == "succeeded", "\(ran)")
        #expect(try String(contentsOfFile: marks, encoding: .utf8) == "before\nfinally-succeeded\n")

        // A before hook that says "not now", policy cancel, signed with the edit: no backup, no failure.
        let edited = try await fleet.cli.run(["jobs", "edit", "nightly", "--before", "exit 4", "--before-policy", "cancel"] + vault)
        #expect(edited.stdout.contains("Signed job nightly"), "\(edited.stdout)\(edited.stderr)")
        try await syncAgent(fleet, agent, until: "exit 4")
        let cancelled = try await runNow(fleet)
        #expect(cancelled["status"] as? String == "cancelled", "\(cancelled)")
        #expect(try await fleet.api("GET", "/api/v1/jobs/nightly")["health"] as? String == "ok", "a cancelled run does not fail the job")
        #expect(try String(contentsOfFile: marks, encoding: .utf8).hasSuffix("finally-cancelled\n"))

        // The hub swaps in a command of its own: the box refuses the job and runs nothing.
        try await fleet.tamper("UPDATE jobs SET hooks = json_set(hooks, '$.before', 'touch \(pwned)') WHERE id = '\(jobID)'")
        #expect(try await fleet.api("GET", "/api/v1/jobs/nightly")["manifestState"] as? String == "changed")
        try await syncAgent(fleet, agent, until: pwned)
        let injected = try await runNow(fleet)
        #expect(injected["status"] as? String == "failed")
        #expect(error(of: injected).contains("job nightly differs from what your account signed (hooks)"), "\(injected)")
        #expect(!FileManager.default.fileExists(atPath: pwned), "the injected hook never ran")
        try await fleet.tamper("UPDATE jobs SET hooks = json_set(hooks, '$.before', 'exit 4') WHERE id = '\(jobID)'")
        _ = try await fleet.cli.run(["jobs", "edit", "nightly", "--before", "", "--finally", ""] + vault)
        try await syncAgent(fleet, agent, until: "\"keepLast\"")

        // A signed upload limit reaches the box with the destination; the backup still succeeds.
        let limited = try await fleet.cli.run(["destinations", "edit", "here", "--limit-upload", "50MiB"] + vault)
        #expect(limited.status == 0 && limited.stdout.contains("51200 KiB/s"), "\(limited.stdout)\(limited.stderr)")
        #expect(limited.stdout.contains("Signed with the account key"), "\(limited.stdout)")
        // The CLI changes, then signs: wait for the signed destination, not the change alone.
        let signature = try #require(
            (try await fleet.api("GET", "/api/v1/destinations/here")["manifest"] as? [String: Any])?["signature"] as? String)
        try await syncAgent(fleet, agent, until: signature)
        #expect(try String(contentsOf: agent.stateDir.appendingPathComponent("jobs.json"), encoding: .utf8).contains("\"limitUploadKiB\" : 51200"))
        #expect(try await runNow(fleet)["status"] as? String == "succeeded")
        let refused = try await fleet.cli.run(["destinations", "edit", "here", "--limit-upload", "12"])
        #expect(refused.status != 0 && refused.stderr.contains("is not a rate"), "\(refused.stderr)")

        // The dry run lists what --keep-last 1 would remove and changes nothing.
        let dryRun = try await fleet.cli.run(["jobs", "edit", "nightly", "--keep-last", "1", "--dry-run", "--json"])
        let destinations = try #require(dryRun.object["destinations"] as? [[String: Any]], "\(dryRun.stdout)\(dryRun.stderr)")
        #expect((destinations.first?["keep"] as? [Any])?.count == 1)
        #expect((destinations.first?["remove"] as? [Any])?.count == 1, "two snapshots exist: the first and the one after the limit")
        #expect((try await fleet.api("GET", "/api/v1/jobs/nightly")["retention"] as? [String: Any])?["keepLast"] as? Int == 5)

        // Retention per destination from the CLI: previewed, then signed with the edit.
        let perDestination = try await fleet.cli.run(["jobs", "edit", "nightly", "--keep-last", "1@here", "--dry-run", "--json"])
        #expect(
            (perDestination.object["destinations"] as? [[String: Any]])?.first?["summary"] as? String == "keeps the last 1",
            "\(perDestination.stdout)\(perDestination.stderr)")
        let badCount = try await fleet.cli.run(["jobs", "edit", "nightly", "--keep-daily", "many@here", "--dry-run"])
        #expect(badCount.status != 0 && badCount.stderr.contains("is not a whole number"), "\(badCount.stderr)")
        let kept = try await fleet.cli.run(["jobs", "edit", "nightly", "--keep-last", "2@here"] + vault)
        #expect(kept.stdout.contains("Signed job nightly") && kept.stdout.contains("keeps the last 2"), "\(kept.stdout)\(kept.stderr)")
        let signedJob = try await fleet.api("GET", "/api/v1/jobs/nightly")
        #expect(signedJob["manifestState"] as? String == "signed")
        #expect(((signedJob["destinationRetention"] as? [[String: Any]])?.first?["retention"] as? [String: Any])?["keepLast"] as? Int == 2)
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
            return content.contains(text) || content.contains(text.replacingOccurrences(of: "/", with: "\\/"))
        }
        #expect(synced, "the agent fetched the changed job set (\(text))")
    }
}
