import Foundation
import Testing

@testable import Sealing

@Suite("restore orders that replace data are signed", .serialized)
struct SignedRestoreEndToEndTests {
    @Test(
        "an overwriting restore waits for the account's signature; the box refuses it unsigned, changed or sent again",
        .enabled(if: Fleet.available, "mzpanel, mzpanel-agent or restic is missing"))
    func signedRestores() async throws {
        let secrets = try OffsiteEndToEndTests.Secrets()
        let vault = secrets.vaultArguments
        let fleet = try await Fleet(plan: "plus")
        defer { fleet.shutdown() }
        let first = try await fleet.enroll("web-1")
        try await fleet.trust(first, vault: vault)  // creates the vault and its signing key
        let agent = try await fleet.enroll("web-2")  // pins the account key at enrollment
        let repositories = fleet.directory.appendingPathComponent("repositories")
        _ = try await fleet.cli.run(["destinations", "add", "here", "--kind", "local", "--path", repositories.path] + vault)
        let tree = try fleet.makeTree("site")
        let added = try await fleet.cli.run(
            ["jobs", "add", "nightly", "--server", "web-2", "--kind", "full", "--path", tree.path, "--schedule", "daily", "--destination", "here"]
                + vault)
        #expect(added.status == 0, "\(added.stderr)")
        _ = try fleet.startDaemon(agent)
        #expect(try await fleet.cli.run(["jobs", "run", "nightly", "--wait", "--json"]).object["status"] as? String == "succeeded")
        let snapshot = try #require(
            (try await fleet.api("GET", "/api/v1/snapshots")["snapshots"] as? [[String: Any]])?.first?["id"] as? String)
        let file = tree.appendingPathComponent("sub/file-1.bin")
        let original = try Data(contentsOf: file)
        let damaged = Data("damaged".utf8)

        // Without the vault passphrase the CLI queues the restore, and the hub holds it: no order reaches the box.
        try damaged.write(to: file)
        let held = try await fleet.cli.run(["restore", snapshot, "--overwrite", "--json"])
        #expect(held.status == 0, "\(held.stderr)")
        let runID = try #require(held.object["id"] as? String)
        #expect((held.object["signature"] as? [String: Any])?["state"] as? String == "awaiting", "\(held.stdout)")
        try await Task.sleep(for: .seconds(2))
        #expect(try await fleet.sql("SELECT count(*) FROM agent_commands WHERE run_id = '\(runID)'") == "0")
        #expect(try Data(contentsOf: file) == damaged, "nothing was restored before the signature")

        // Signed from the CLI: the hub sends it, the box verifies it and restores.
        let signed = try await fleet.cli.run(["runs", "sign", runID] + vault)
        #expect(signed.status == 0 && signed.stdout.contains("replacing what differs"), "\(signed.stdout)\(signed.stderr)")
        #expect(try await finished(runID, fleet)["status"] as? String == "succeeded")
        #expect(try Data(contentsOf: file) == original)
        let again = try await fleet.cli.run(["runs", "sign", runID] + vault)
        #expect(again.status != 0 && again.stderr.contains("does not wait for a signature"), "\(again.stderr)")

        // The hub sends the same signed order again: the box carried it out once and refuses.
        try damaged.write(to: file)
        try await fleet.tamper(
            """
            INSERT INTO agent_commands (id, account_id, server_id, kind, job_id, run_id, slot, created_at, payload)
            SELECT 'cmd_replayed', account_id, server_id, kind, job_id, run_id, slot, created_at + 1, payload
            FROM agent_commands WHERE run_id = '\(runID)'
            """)
        // (The daemon drops an order for a run it carried out and logs it; the run stays succeeded on the hub.)
        let daemonLog = fleet.directory.appendingPathComponent("daemon-\(agent.serverID).log")
        let refusedReplay = try await fleet.eventually(60) {
            ((try? String(contentsOf: daemonLog, encoding: .utf8)) ?? "").contains("already carried out")
        }
        #expect(refusedReplay, "the box refused the replayed order")

        // The hub moves the signed order to another run it made with a stolen token, or strips its signature.
        for (index, edit) in ["payload", "json_remove(payload, '$.restore.run.signature')"].enumerated() {
            let stolen = try await fleet.api("POST", "/api/v1/restores", body: ["snapshot": snapshot, "overwrite": true])
            let stolenID = try #require(stolen["id"] as? String)
            #expect((stolen["signature"] as? [String: Any])?["state"] as? String == "awaiting")
            try await fleet.tamper(
                """
                INSERT INTO agent_commands (id, account_id, server_id, kind, job_id, run_id, slot, created_at, payload)
                SELECT 'cmd_moved\(index)', account_id, server_id, kind, job_id, '\(stolenID)', slot, created_at + 2,
                       json_set(\(edit), '$.restore.run.id', '\(stolenID)')
                FROM agent_commands WHERE id = 'cmd_replayed'
                """)
            let refused = try await finished(stolenID, fleet, status: "failed")
            let expected = index == 0 ? "differs from what your account signed (run id)" : "is not signed by your account key"
            #expect(error(of: refused).contains(expected), "\(refused)")
        }
        #expect(try Data(contentsOf: file) == damaged, "no unsigned or moved order restored anything")

        // A dry run or a restore of missing files onto the same server needs no signature.
        let dry = try await fleet.api("POST", "/api/v1/restores", body: ["snapshot": snapshot, "overwrite": true, "dryRun": true])
        #expect(dry["signature"] == nil, "\(dry)")
    }

    private func finished(_ runID: String, _ fleet: Fleet, status: String = "succeeded") async throws -> [String: Any] {
        var last: [String: Any] = [:]
        _ = try await fleet.eventually(60) {
            last = try await fleet.api("GET", "/api/v1/runs/\(runID)")
            return last["status"] as? String == status
        }
        return last
    }

    private func error(of run: [String: Any]) -> String {
        ((run["results"] as? [[String: Any]])?.compactMap { $0["error"] as? String } ?? []).joined(separator: " ")
    }
}
