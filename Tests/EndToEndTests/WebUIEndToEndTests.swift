import BackupCore
import Foundation
import Sealing
import Testing

/// The web hub in a real headless Chromium (Tests/Browser/ui_flow.py, selenium) against a real
/// hub, agents and restic. Screenshots of every page land in test-output/screenshots/.
@Suite("web hub in Chromium end to end", .serialized, .enabled(if: Fleet.available && Chromium.available, "mzpanel, restic or chromium is missing"))
struct WebUIEndToEndTests {
    func browse(_ scenario: String, fleet: Fleet, _ fields: [String: Any] = [:]) async throws -> [String: Any] {
        var request: [String: Any] = [
            "scenario": scenario, "url": fleet.url, "email": "ops@example.com", "password": "a long enough passphrase",
            "screenshots": Chromium.repository.appendingPathComponent("test-output/screenshots/\(scenario)").path,
        ]
        request.merge(fields) { _, new in new }
        let runner = CommandRunner(binary: URL(fileURLWithPath: "/usr/bin/env"), environment: ProcessInfo.processInfo.environment)
        let input = String(decoding: try JSONSerialization.data(withJSONObject: request), as: UTF8.self)
        let result = try await runner.run(["python3", Chromium.repository.appendingPathComponent("Tests/Browser/ui_flow.py").path], stdin: input)
        #expect(result.status == 0, "\(result.stderr)")
        return result.object
    }

    @Test("log in, add a local destination and a job (the preview shows the next runs), run now to 100 %, see, browse and restore the snapshot")
    func localFlow() async throws {
        let fleet = try await Fleet()
        defer { fleet.shutdown() }
        let agent = try await fleet.enroll("web-1")
        _ = try fleet.startDaemon(agent)
        let tree = try fleet.makeTree("site")
        let restorePath = fleet.directory.appendingPathComponent("restored-from-web").path
        let seen = try await browse(
            "local", fleet: fleet,
            [
                "serverID": agent.serverID, "treePath": tree.path, "restorePath": restorePath,
                "destinationPath": fleet.directory.appendingPathComponent("repos").path,
            ])
        let preview = seen["preview"] as? [String] ?? []
        #expect(preview.count == 5, "the schedule preview lists the next five runs: \(preview)")
        #expect(preview.allSatisfy { $0.contains("2:30") && !$0.contains("UTC") }, "in the chosen time zone: \(preview)")
        #expect(seen["maxPercent"] as? Int == 100, "the progress bar reached 100 %: \(seen)")
        #expect(seen["status"] as? String == "succeeded")
        let onServer = seen["serverSnapshots"] as? [String] ?? []
        let inFleet = seen["fleetSnapshots"] as? [String] ?? []
        #expect(onServer.count == 1 && inFleet == onServer, "the snapshot shows on the server page and in the fleet view")
        #expect((seen["serverJobRow"] as? String)?.contains("last snapshot") == true)
        #expect((seen["hubJobRow"] as? String)?.contains("OK") == true, "\(seen["hubJobRow"] ?? "")")
        #expect((seen["consoleErrors"] as? [String])?.isEmpty == true, "\(seen["consoleErrors"] ?? "")")
        // The hub's own record agrees with what the page showed.
        let listed = try await fleet.cli.run(["snapshots", "list", "--json"])
        let ids = (listed.object["snapshots"] as? [[String: Any]])?.compactMap { $0["id"] as? String }
        #expect(ids == onServer)
        // The snapshot page lists the job's folder, and its restore form restores it elsewhere.
        let entries = seen["browseEntries"] as? [String] ?? []
        #expect(entries.contains("file-0.bin") && entries.contains("sub"), "\(entries)")
        #expect((seen["restore"] as? [String: Any])?["status"] as? String == "succeeded", "\(seen["restore"] ?? "")")
        let original = try Data(contentsOf: tree.appendingPathComponent("sub/file-1.bin"))
        #expect(try Data(contentsOf: URL(fileURLWithPath: restorePath + tree.path + "/sub/file-1.bin")) == original)
    }

    @Test(
        "the server page shows the Stacks section its agent reported; a stack snapshot shows stack → services → volumes/databases and its restore form"
    )
    func stacksFlow() async throws {
        let fleet = try await Fleet()
        defer { fleet.shutdown() }
        let agent = try await fleet.enroll("web-1")
        // What a daemon reports and what a stack run's snapshot holds (docs/stacks.md), put where the
        // hub keeps them, so no Docker engine is needed here (StackEndToEndTests cover the real ones).
        let report = StackReport(stacks: [
            DockerStack(
                project: "shop", directory: "/srv/shop", configFiles: ["/srv/shop/docker-compose.yml"],
                services: [
                    StackService(
                        name: "db", image: "postgres:16", state: "running", containers: ["c1"], database: .postgresql, stopForBackup: false,
                        dumpDisabled: false, volumes: ["pgdata"]),
                    StackService(
                        name: "app", image: "shop/app:2", state: "running", containers: ["c2"], database: nil, stopForBackup: true,
                        dumpDisabled: false, volumes: ["uploads"]),
                ],
                volumes: [
                    StackVolume(
                        name: "pgdata", engineName: "shop_pgdata", mountpoint: "/var/lib/docker/volumes/shop_pgdata/_data", sizeBytes: 48_000_000,
                        excluded: false),
                    StackVolume(
                        name: "uploads", engineName: "shop_uploads", mountpoint: "/var/lib/docker/volumes/shop_uploads/_data", sizeBytes: 1_200_000,
                        excluded: false),
                    StackVolume(
                        name: "scratch", engineName: "shop_scratch", mountpoint: "/var/lib/docker/volumes/shop_scratch/_data", sizeBytes: 0,
                        excluded: false),
                ],
                bindMounts: [StackBindMount(service: "app", source: "/srv/shop/config", destination: "/etc/shop", insideProject: true)])
        ])
        let contents = StackContents(
            project: "shop", directory: "/srv/shop", volumes: ["pgdata", "uploads"],
            services: [
                StackContents.Service(name: "db", volumes: ["pgdata"], dump: .postgresql),
                StackContents.Service(name: "app", volumes: ["uploads"], dump: nil),
            ])
        func json(_ value: some Encodable) throws -> String {
            String(decoding: try JSONEncoder().encode(value), as: UTF8.self).replacingOccurrences(of: "'", with: "''")
        }
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        try await fleet.tamper(
            "INSERT INTO stack_reports (server_id, account_id, report, reported_at) SELECT id, account_id, '\(try json(report))', \(now) FROM servers WHERE id = '\(agent.serverID)'"
        )
        let destination = try await fleet.cli.run([
            "destinations", "add", "here", "--kind", "local", "--path", fleet.directory.appendingPathComponent("repos").path, "--json",
        ])
        let destinationID = try #require(destination.object["id"] as? String, "\(destination.stderr)")
        let job = try await fleet.cli.run([
            "jobs", "add", "stack", "--server", "web-1", "--stack", "shop", "--schedule", "daily", "--destination", "here", "--json",
        ])
        let jobID = try #require(job.object["id"] as? String, "\(job.stderr)")
        // The site preset over Docker: the web service's volumes and the databases, the rest left out.
        let site = try await fleet.cli.run([
            "jobs", "add", "site", "--server", "web-1", "--stack", "shop", "--site", "app", "--schedule", "daily", "--destination", "here",
        ])
        #expect(
            site.status == 0 && site.stdout.contains("Site preset: service app with the databases; volumes left out: scratch."),
            "\(site.stdout)\(site.stderr)")
        let siteJob = try await fleet.api("GET", "/api/v1/jobs/site")
        #expect(((siteJob["sources"] as? [String: Any])?["stack"] as? [String: Any])?["excludeVolumes"] as? [String] == ["scratch"], "\(siteJob)")
        let notWeb = try await fleet.cli.run([
            "jobs", "add", "site2", "--server", "web-1", "--stack", "shop", "--site", "db", "--schedule", "daily", "--destination", "here",
        ])
        #expect(notWeb.status != 0 && notWeb.stderr.contains("service db of stack shop is a database"), "\(notWeb.stderr)")
        let snapshotID = ResourceID.make(.snapshot)
        try await fleet.tamper(
            """
            INSERT INTO snapshots (id, account_id, server_id, job_id, run_id, created_at, bytes_total, stack)
              SELECT '\(snapshotID)', account_id, id, '\(jobID)', '\(ResourceID.make(.run))', \(now), 1000, '\(try json(contents))' FROM servers WHERE id = '\(agent.serverID)';
            INSERT INTO snapshot_copies (snapshot_id, destination_id, account_id, created_at, restic_ids, bytes_added, bytes_total)
              SELECT '\(snapshotID)', '\(destinationID)', account_id, \(now), '["a1b2c3d4","e5f6a7b8"]', 1000, 1000 FROM servers WHERE id = '\(agent.serverID)';
            """)
        let seen = try await browse("stacks", fleet: fleet, ["serverID": agent.serverID, "snapshotID": snapshotID])
        #expect(seen["project"] as? String == "shop", "\(seen)")
        let services = seen["services"] as? [String] ?? []
        #expect(services.count == 2 && services[0].contains("postgres:16") && services[0].contains("postgresql"), "\(services)")
        #expect(seen["volumes"] as? [String] == ["pgdata", "uploads", "scratch"], "\(seen)")
        #expect((seen["protect"] as? String)?.contains("/backups/jobs/new") == true, "\(seen)")
        let tree = seen["tree"] as? [String] ?? []
        #expect(tree.count == 2 && tree[0].contains("database: postgresql dump") && tree[0].contains("volume pgdata"), "\(tree)")
        #expect(tree.count == 2 && tree[1].contains("app") && tree[1].contains("volume uploads"), "\(tree)")
        #expect(seen["formVolumes"] as? [String] == ["pgdata", "uploads"] && seen["formDatabases"] as? [String] == ["db"], "\(seen)")
        #expect(seen["formServers"] as? [String] == ["web-1"], "\(seen)")
        #expect((seen["consoleErrors"] as? [String])?.isEmpty == true, "\(seen["consoleErrors"] ?? "")")
    }

    @Test("an owner invites a member on the account page; the invitee sets a password through the one-time link and is an operator")
    func invitation() async throws {
        let fleet = try await Fleet()
        defer { fleet.shutdown() }
        let seen = try await browse("invite", fleet: fleet, ["invitee": "new@example.com", "inviteePassword": "the invitee's passphrase"])
        #expect((seen["link"] as? String)?.contains("/backups/join?invitation=mzi_") == true, "\(seen)")
        #expect((seen["waiting"] as? [String])?.first?.contains("new@example.com") == true, "\(seen)")
        #expect(seen["invitedAs"] as? String == "operator")
        #expect(seen["role"] as? String == "operator", "\(seen)")
        #expect(Set(seen["members"] as? [String] ?? []) == ["ops@example.com", "new@example.com (you)"], "\(seen)")
        #expect(seen["memberCanInvite"] as? Bool == false, "an operator does not manage members")
        #expect((seen["reused"] as? String)?.contains("used") == true, "the link works once: \(seen)")
        #expect((seen["consoleErrors"] as? [String])?.isEmpty == true, "\(seen["consoleErrors"] ?? "")")
        let members = try await fleet.cli.run(["members", "list", "--json"])
        let listed = (members.object["members"] as? [[String: Any]] ?? []).map { "\($0["email"] ?? "") \($0["role"] ?? "")" }
        #expect(Set(listed) == ["ops@example.com owner", "new@example.com operator"], "\(members.stdout)")
        let audit = try await fleet.cli.run(["audit", "--json"])
        #expect(audit.stdout.contains("Invite a member") && audit.stdout.contains("Join the account as operator"), "audited")
        #expect(!audit.stdout.contains("mzi_"), "the link's secret is not in the audit log")
    }

    @Test("two-factor sign-in: enrol TOTP on the account page, sign in with a code computed in the test (once only) and with a recovery code")
    func twoFactor() async throws {
        let fleet = try await Fleet()
        defer { fleet.shutdown() }
        let seen = try await browse("twofactor", fleet: fleet)
        let secret = seen["secret"] as? String ?? ""
        #expect(secret.count == 32, "a 160-bit base32 secret: \(seen)")
        #expect((seen["uri"] as? String)?.hasPrefix("otpauth://totp/MZPanel%20Backups:ops@example.com?secret=\(secret)") == true, "\(seen)")
        #expect((seen["recoveryCodes"] as? [String])?.count == 10, "\(seen)")
        #expect((seen["qrWidth"] as? Double ?? Double(seen["qrWidth"] as? Int ?? 0)) > 100, "the QR code is drawn: \(seen)")
        #expect((seen["state"] as? String)?.hasPrefix("On") == true, "\(seen)")
        #expect(seen["wrongRefused"] as? Bool == true)
        #expect(seen["signedInWithCode"] as? Bool == true, "\(seen)")
        #expect(seen["reusedRefused"] as? Bool == true, "a code works once: \(seen)")
        #expect(seen["signedInWithRecoveryCode"] as? Bool == true, "\(seen)")
        // The CLI signs in as the member too: password, then the code the hub asks for (here a recovery code), and
        // saves an API token it made with that session.
        var cli = fleet.cli
        cli.environment["MZPANEL_CONFIG"] = fleet.directory.appendingPathComponent("member-client.json").path
        let password = fleet.directory.appendingPathComponent("password").path
        let noCode = try await cli.run(["login", "--url", fleet.url, "--email", "ops@example.com", "--password-file", password])
        #expect(noCode.status != 0 && noCode.stderr.contains("--code-file"), "the hub asked for a code: \(noCode.stderr)")
        let recovery = try #require((seen["recoveryCodes"] as? [String])?.last)
        let codeFile = fleet.directory.appendingPathComponent("code")
        try recovery.write(to: codeFile, atomically: true, encoding: .utf8)
        let login = try await cli.run([
            "login", "--url", fleet.url, "--email", "ops@example.com", "--password-file", password, "--code-file", codeFile.path,
        ])
        #expect(login.status == 0, "\(login.stderr)")
        let tokens = try await cli.run(["tokens", "list", "--json"])
        #expect(tokens.stdout.contains("mzpanel CLI on"), "\(tokens.stdout)")
        let again = try await cli.run([
            "login", "--url", fleet.url, "--email", "ops@example.com", "--password-file", password, "--code-file", codeFile.path,
        ])
        #expect(again.status != 0 && again.stderr.contains("two-factor code is wrong"), "a recovery code works once: \(again.stderr)")
        #expect((seen["consoleErrors"] as? [String])?.isEmpty == true, "\(seen["consoleErrors"] ?? "")")
    }

    @Test(
        "a Free account sees the offsite kinds gated, with what Plus unlocks; the alerts page adds and tests a channel; the account page makes and revokes a scoped token"
    )
    func freeGate() async throws {
        let fleet = try await Fleet()
        defer { fleet.shutdown() }
        let seen = try await browse("gated", fleet: fleet)
        let kinds = seen["kinds"] as? [String: Bool] ?? [:]
        #expect(kinds["local"] == true)
        #expect(["s3", "b2", "rclone", "peer"].allSatisfy { kinds[$0] == false }, "\(kinds)")
        #expect((seen["gateNote"] as? String)?.contains("Plus") == true)
        // The alerts page: a webhook channel shows its signing secret once and takes a test send.
        #expect((seen["secret"] as? String)?.hasPrefix("whsec_") == true, "\(seen["secret"] ?? "")")
        #expect(seen["channels"] as? [String] == ["ops"])
        #expect((seen["deliveries"] as? [String])?.first?.contains("test") == true, "\(seen["deliveries"] ?? "")")
        let audit = try await fleet.cli.run(["audit", "--json"])
        #expect(
            audit.stdout.contains("Add a notification channel") && !audit.stdout.contains(seen["secret"] as? String ?? "whsec_"),
            "audited, without the secret")
        // The account page: a metrics token shown once, listed with its scope, then revoked.
        let tokens = seen["tokens"] as? [String: Any] ?? [:]
        #expect((tokens["secret"] as? String)?.hasPrefix("mzp_") == true, "\(tokens)")
        #expect((tokens["scopes"] as? [String: String])?["prometheus"] == "metrics", "\(tokens)")
        #expect(tokens["shownAgain"] as? Bool == false, "the secret is shown once")
        #expect((tokens["afterRevoke"] as? [String])?.contains("prometheus") == false, "\(tokens)")
    }

    @Test(
        "an s3 destination made in the page: the envelope opens in the agent; a second server gets it with the vault passphrase only",
        .enabled(if: MotoS3.available, "MZPANEL_TEST_S3_URL is not set"))
    func offsiteFlow() async throws {
        let s3 = try #require(MotoS3.url)
        let fleet = try await Fleet(plan: "plus")
        defer { fleet.shutdown() }
        let first = try await fleet.enroll("web-1")
        let second = try await fleet.enroll("web-2")
        _ = try fleet.startDaemon(first)
        _ = try fleet.startDaemon(second)
        let tree = try fleet.makeTree("site")
        let secret = "web-secret-" + UUID().uuidString
        let password = "web-repo-password-" + UUID().uuidString
        let bucket = "mzpanel-web-" + UUID().uuidString.prefix(8).lowercased()
        let seen = try await browse(
            "offsite", fleet: fleet,
            [
                "endpoint": s3, "bucket": bucket, "accessKeyID": "AKIAWEBTEST", "secretAccessKey": secret, "repositoryPassword": password,
                "passphrase": "browser vault passphrase", "firstServerID": first.serverID, "secondServerID": second.serverID,
                "firstServerName": "web-1", "secondServerName": "web-2",
                "firstFingerprint": try await first.run(["fingerprint"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines),
                "secondFingerprint": try await second.run(["fingerprint"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines),
                "treePath": tree.path, "recoverPath": fleet.directory.appendingPathComponent("recovered").path,
            ])
        #expect(seen["status"] as? String == "succeeded", "the agent opened the envelope sealed in the page: \(seen)")
        #expect((seen["recoveryKey"] as? String)?.count == 64, "the new vault showed its recovery key")
        #expect((seen["refused"] as? String)?.contains("web-1's key is not certified by your account key") == true, "\(seen["refused"] ?? "")")
        #expect((seen["sealedBoth"] as? String)?.contains("web-1") == true && (seen["sealedBoth"] as? String)?.contains("web-2") == true)
        // The job made with the page's form is unsigned until signed on its page; then it runs.
        #expect(seen["unsignedJob"] as? String == "unsigned" && seen["jobSignature"] as? String == "signed", "\(seen)")
        let signingKey = try #require(try await fleet.api("GET", "/api/v1/vault")["signingKey"] as? String)
        #expect(seen["accountKey"] as? String == KeyFingerprint.of(try #require(Data(base64Encoded: signingKey))), "the account page shows the key")
        // The guided recovery brings web-1's snapshot onto web-2 from the s3 copy.
        let recover = seen["recover"] as? [String: Any] ?? [:]
        #expect((recover["snapshots"] as? [String])?.count == 1, "\(recover)")
        #expect(recover["status"] as? String == "succeeded", "\(recover)")
        // Onto another server: the hub held the restore until it was signed on the run page.
        #expect((recover["signedRestore"] as? String)?.contains("onto server web-2") == true, "\(recover)")
        let recovered = fleet.directory.appendingPathComponent("recovered").path + tree.path + "/sub/file-1.bin"
        #expect(try Data(contentsOf: URL(fileURLWithPath: recovered)) == Data(contentsOf: tree.appendingPathComponent("sub/file-1.bin")))

        // web-2 uses it without anyone typing the credential again (the vault passphrase signs the job).
        let passphraseFile = fleet.directory.appendingPathComponent("vault-passphrase")
        try "browser vault passphrase\n".write(to: passphraseFile, atomically: true, encoding: .utf8)
        let job = try await fleet.cli.run([
            "jobs", "add", "second", "--server", "web-2", "--kind", "full", "--path", tree.path,
            "--schedule", "daily", "--destination", "cloud", "--json", "--vault-passphrase-file", passphraseFile.path,
        ])
        #expect(job.status == 0, "\(job.stderr)")
        let jobID = try #require(job.object["id"] as? String)
        #expect(try await fleet.eventually(30) { try await second.run(["status", "--json"]).stdout.contains(jobID) })
        let run = try await fleet.cli.run(["jobs", "run", "second", "--wait", "--json"])
        #expect(run.object["status"] as? String == "succeeded", "\(run.stdout)\(run.stderr)")
        for leaked in [secret, password] {
            #expect(
                FileSearch.files(under: fleet.directory, containing: leaked).isEmpty, "a secret typed in the page reached the hub or an agent's files"
            )
        }
    }
}
