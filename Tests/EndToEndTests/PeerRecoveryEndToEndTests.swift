import Foundation
import Testing

/// Disaster recovery from a peer destination: server A's repository on the storage server is
/// behind A's own login, so a new server B gets a recovery login as A (sealed to B), then
/// restores A's snapshot — with A's own login shut out from then on.
extension PeerEndToEndTests {
    @Test("a new server restores a lost server's peer copy after sealing with --recover-from")
    func recoverFromPeer() async throws {
        let fleet = try await Fleet(plan: "plus")
        defer { fleet.shutdown() }
        let storage = try await fleet.enroll("store-1")
        let lost = try await fleet.enroll("web-1")
        _ = try fleet.startDaemon(storage)
        let lostDaemon = try fleet.startDaemon(lost)
        let passphrase = fleet.directory.appendingPathComponent("vault-passphrase")
        try "peer vault passphrase\n".write(to: passphrase, atomically: true, encoding: .utf8)
        try await fleet.trust(lost, vault: ["--vault-passphrase-file", passphrase.path])
        let port = Self.freePort()
        let added = try await fleet.cli.run([
            "destinations", "add", "b-peer", "--kind", "peer", "--server", "store-1", "--address", "127.0.0.1:\(port)",
            "--path", fleet.directory.appendingPathComponent("peer-root").path, "--attach", "web-1",
            "--vault-passphrase-file", passphrase.path,
        ])
        #expect(added.status == 0, "\(added.stderr)")
        let serving = try await fleet.eventually(40) {
            ((try await fleet.cli.run(["destinations", "show", "b-peer", "--json"])).object["peer"] as? [String: Any])?["listening"] as? Bool == true
        }
        #expect(serving)
        let tree = try RestoreEndToEndTests.awkwardTree(in: fleet.directory)
        let job = try await fleet.cli.run([
            "jobs", "add", "site", "--server", "web-1", "--kind", "full", "--path", tree.path, "--schedule", "daily",
            "--destination", "b-peer", "--json", "--vault-passphrase-file", passphrase.path,
        ])
        #expect(job.status == 0, "\(job.stderr)")
        let jobID = try #require(job.object["id"] as? String)
        #expect(try await fleet.eventually(30) { try await lost.run(["status", "--json"]).stdout.contains(jobID) })
        let run = try await fleet.cli.run(["jobs", "run", "site", "--wait", "--json"])
        let snapshot = try #require((run.object["snapshot"] as? [String: Any])?["id"] as? String, "\(run.stdout)\(run.stderr)")

        // web-1 is lost; web-2 arrives.
        lostDaemon.terminate()
        lostDaemon.waitUntilExit()
        let fresh = try await fleet.enroll("web-2")
        _ = try fleet.startDaemon(fresh)
        try await fleet.trust(fresh, vault: ["--vault-passphrase-file", passphrase.path])
        let target = fleet.directory.appendingPathComponent("on-web-2")
        _ = try await fleet.cli.run(["destinations", "attach", "b-peer", "--server", "web-2", "--vault-passphrase-file", passphrase.path])
        let refused = try await fleet.cli.run(["restore", snapshot, "--server", "web-2", "--target", target.path])
        #expect(refused.status != 0 && refused.stderr.contains("--recover-from"), "sealing alone is not enough for a peer: \(refused.stderr)")

        let sealed = try await fleet.cli.run([
            "destinations", "attach", "b-peer", "--server", "web-2", "--recover-from", "web-1",
            "--vault-passphrase-file", passphrase.path,
        ])
        #expect(sealed.status == 0, "\(sealed.stderr)")
        #expect(sealed.stderr.contains("no longer works"), "the operator is told web-1's login stops: \(sealed.stderr)")
        // The storage server picks up the new login with its next job sync; the restore retries until then.
        var last = ""
        let restored = try await fleet.eventually(90) {
            // Onto another server: the CLI signs the restore order with the vault's key.
            let attempt = try await fleet.cli.run([
                "restore", snapshot, "--server", "web-2", "--target", target.path, "--wait", "--json", "--vault-passphrase-file", passphrase.path,
            ])
            last = attempt.stdout + attempt.stderr
            return attempt.status == 0
        }
        #expect(restored, "\(last)")
        #expect(try RestoreEndToEndTests.snapshot(of: URL(fileURLWithPath: target.path + tree.path)) == RestoreEndToEndTests.snapshot(of: tree))
    }
}
