import BackupCore
import Crypto
import Foundation
import Sealing
import Testing

/// Peer destinations: one server of the account stores another's backups through
/// `rclone serve restic` (TLS, private repositories, one login per source server).
@Suite(
    "peer destinations end to end", .serialized,
    .enabled(
        if: Fleet.available && FileManager.default.isExecutableFile(atPath: "/usr/bin/rclone"),
        "mzpanel, mzpanel-agent, restic or rclone is missing"))
struct PeerEndToEndTests {
    static func freePort() -> Int {
        for _ in 0..<50 {
            let port = Int.random(in: 30_000..<60_000)
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(UInt16(port).bigEndian)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            let bound = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            close(fd)
            if bound == 0 { return port }
        }
        return 47_123
    }

    /// HTTP status of a GET with basic auth; the login goes to curl on stdin, not argv.
    func status(_ url: String, user: String, password: String, certificate: String) async throws -> String {
        let curl = CommandRunner(binary: URL(fileURLWithPath: "/usr/bin/curl"), environment: ["PATH": "/usr/bin:/bin"])
        let result = try await curl.run(
            ["-s", "-o", "/dev/null", "-w", "%{http_code}", "--cacert", certificate, "-K", "-", url],
            stdin: "user = \"\(user):\(password)\"\n")
        return result.stdout
    }

    @Test("server B stores A's backups over TLS; A's login cannot reach another source's repository (403)")
    func peer() async throws {
        let fleet = try await Fleet(plan: "plus")
        defer { fleet.shutdown() }
        let storage = try await fleet.enroll("store-1")
        let source = try await fleet.enroll("web-1")
        let other = try await fleet.enroll("web-2")
        let storageDaemon = try fleet.startDaemon(storage)
        _ = try fleet.startDaemon(source)
        let passphrase = fleet.directory.appendingPathComponent("vault-passphrase")
        try "peer vault passphrase\n".write(to: passphrase, atomically: true, encoding: .utf8)
        for agent in [source, other] { try await fleet.trust(agent, vault: ["--vault-passphrase-file", passphrase.path]) }
        let port = Self.freePort()
        let root = fleet.directory.appendingPathComponent("peer-root")
        let added = try await fleet.cli.run([
            "destinations", "add", "b-peer", "--kind", "peer", "--server", "store-1", "--address", "127.0.0.1:\(port)",
            "--path", root.path, "--attach", "web-1", "--attach", "web-2", "--vault-passphrase-file", passphrase.path,
        ])
        #expect(added.status == 0, "\(added.stderr)")

        var certificate = ""
        let serving = try await fleet.eventually(40) {
            let shown = try await fleet.cli.run(["destinations", "show", "b-peer", "--json"])
            let peer = shown.object["peer"] as? [String: Any]
            certificate = peer?["certificate"] as? String ?? ""
            return peer?["listening"] as? Bool == true && !certificate.isEmpty
        }
        #expect(serving, "the storage server never reported that it serves the destination")
        let shown = try await fleet.cli.run(["destinations", "show", "b-peer", "--json"])
        #expect(((shown.object["peer"] as? [String: Any])?["freeBytes"] as? Int ?? 0) > 0, "the storage server reports its free space")

        let tree = try fleet.makeTree("site")
        // 2 MiB of incompressible data, so the repository outgrows the smallest quota (1 MiB) below.
        try Data((0..<(2 << 20)).map { _ in UInt8.random(in: 0...255) }).write(to: tree.appendingPathComponent("random.bin"))
        let job = try await fleet.cli.run([
            "jobs", "add", "nightly", "--server", "web-1", "--kind", "full", "--path", tree.path,
            "--schedule", "daily", "--keep-last", "3", "--destination", "b-peer", "--json", "--vault-passphrase-file", passphrase.path,
        ])
        #expect(job.status == 0, "\(job.stderr)")
        let jobID = try #require(job.object["id"] as? String)
        #expect(try await fleet.eventually(30) { try await source.run(["status", "--json"]).stdout.contains(jobID) })
        let run = try await fleet.cli.run(["jobs", "run", "nightly", "--wait", "--json"])
        #expect(run.object["status"] as? String == "succeeded", "\(run.stdout)\(run.stderr)")
        #expect(
            FileManager.default.fileExists(atPath: root.appendingPathComponent(source.serverID + "/config").path),
            "the repository is on the storage server")
        let snapshots = try FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent(source.serverID + "/snapshots").path)
        #expect(snapshots.count == 1)

        // The source's own login, opened from its envelope with its key as its agent does.
        let account = try await fleet.api("GET", "/api/v1/account")
        let accountID = try #require((account["account"] as? [String: Any])?["id"] as? String)
        let envelope = try await fleet.api("GET", "/api/v1/destinations/b-peer/envelopes/\(source.serverID)")
        let keyText = try String(contentsOf: source.stateDir.appendingPathComponent("server.key"), encoding: .utf8)
        let key = try Curve25519.KeyAgreement.PrivateKey(
            rawRepresentation: try #require(Data(base64Encoded: keyText.trimmingCharacters(in: .whitespacesAndNewlines))))
        let destinationID = try #require(envelope["destinationID"] as? String)
        let ciphertextText = try #require(envelope["ciphertext"] as? String)
        let opened = try Envelope.open(
            try #require(Data(base64Encoded: ciphertextText)),
            address: .init(
                accountID: accountID, destinationID: destinationID, serverID: source.serverID,
                keyID: try #require(envelope["keyID"] as? String)), privateKey: key)
        let user = try #require(opened.serverSecrets["restUser"])
        let password = try #require(opened.serverSecrets["restPassword"])
        let pem = fleet.directory.appendingPathComponent("peer.pem")
        try certificate.write(to: pem, atomically: true, encoding: .utf8)
        let base = "https://127.0.0.1:\(port)"
        #expect(try await status("\(base)/\(source.serverID)/config", user: user, password: password, certificate: pem.path) == "200")
        #expect(try await status("\(base)/\(other.serverID)/config", user: user, password: password, certificate: pem.path) == "403")
        #expect(try await status("\(base)/\(source.serverID)/config", user: user, password: "wrong", certificate: pem.path) == "401")

        // A quota the source is over: the storage server measures, the source makes no new backup there.
        let quota = try await fleet.api(
            "PATCH", "/api/v1/destinations/b-peer",
            body: [
                "settings": [
                    "peerServerID": storage.serverID, "peerAddress": "127.0.0.1:\(port)", "path": root.path, "quotaBytes": 1 << 20,
                ]
            ])
        #expect((quota["settings"] as? [String: Any])?["quotaBytes"] as? Int == 1 << 20, "\(quota)")
        // A change made through the API alone is not signed: sign it (servers refuse it until then).
        let signed = try await fleet.cli.run(["destinations", "sign", "b-peer", "--vault-passphrase-file", passphrase.path])
        #expect(signed.status == 0 && signed.stdout.contains("Signed 1 destination"), "\(signed.stdout)\(signed.stderr)")
        let measured = try await fleet.eventually(40) {
            let shown = try await fleet.cli.run(["destinations", "show", "b-peer", "--json"])
            let used = ((shown.object["peer"] as? [String: Any])?["usedBytes"] as? [String: Any])?[source.serverID] as? Int ?? 0
            return used > 1 << 20
        }
        #expect(measured, "the storage server reports what the source stores")
        let known = try await fleet.eventually(30) {
            (try? String(contentsOf: source.stateDir.appendingPathComponent("jobs.json"), encoding: .utf8))?.contains("usedBytes") == true
        }
        #expect(known, "the source learned its usage")
        let refused = try await fleet.cli.run(["jobs", "run", "nightly", "--wait", "--json"])
        #expect(refused.object["status"] as? String == "failed", "\(refused.stdout)")
        let why = ((refused.object["results"] as? [[String: Any]])?.first?["error"] as? String) ?? ""
        #expect(why.contains("over its quota"), "\(why)")
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent(source.serverID + "/snapshots").path).count == 1,
            "no new snapshot beyond the quota")

        // Stopping the storage server's agent stops its rclone server too.
        storageDaemon.terminate()
        storageDaemon.waitUntilExit()
        let stopped = try await fleet.eventually(10) {
            try await status("\(base)/\(source.serverID)/config", user: user, password: password, certificate: pem.path) == "000"
        }
        #expect(stopped, "rclone serve restic outlived the agent that supervises it")
    }
}
