import Foundation
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// The CLI against a real hub process on SQLite: what a user types, what they see.
@Suite("mzpanel CLI end to end", .serialized, .enabled(if: CommandRunner.locateBinary() != nil, "the mzpanel binary is not built (run swift build)"))
struct CLIEndToEndTests {
    let directory: URL
    let runner: CommandRunner

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("mzpanel-e2e-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var environment = ProcessInfo.processInfo.environment
        environment["MZPANEL_DATA_DIR"] = directory.appendingPathComponent("data").path
        environment["MZPANEL_CONFIG"] = directory.appendingPathComponent("client.json").path
        environment.removeValue(forKey: "MZPANEL_URL")
        environment.removeValue(forKey: "MZPANEL_TOKEN")
        environment.removeValue(forKey: "MZPANEL_DATABASE_URL")
        runner = CommandRunner(binary: try #require(CommandRunner.locateBinary()), environment: environment)
    }

    func createAccount(plan: String) async throws -> String {
        let passwordFile = directory.appendingPathComponent("password")
        try "a long enough passphrase\n".write(to: passwordFile, atomically: true, encoding: .utf8)
        let created = try await runner.run([
            "admin", "create-account", "--email", "ops@example.com", "--plan", plan, "--password-file", passwordFile.path, "--json",
        ])
        #expect(created.status == 0, "\(created.stderr)")
        return try #require(created.object["apiToken"] as? String)
    }

    @Test("a user sets up servers, destinations and jobs, and lists history")
    func fullSetup() async throws {
        let token = try await createAccount(plan: "free")
        let (hub, url) = try await runner.startHub()
        defer {
            hub.terminate()
            hub.waitUntilExit()
        }

        let login = try await runner.run(["login", "--url", url, "--token-file", "-"], stdin: token + "\n")
        #expect(login.status == 0, "\(login.stderr)")
        let attributes = try FileManager.default.attributesOfItem(atPath: directory.appendingPathComponent("client.json").path)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)

        let server = try await runner.run(["servers", "add", "web-1", "--json"])
        #expect(server.status == 0, "\(server.stderr)")
        let enrollment = try #require(server.object["enrollment"] as? [String: Any])
        let secret = try #require(enrollment["secret"] as? String)
        #expect(enrollment["command"] as? String == "printf '%s\\n' '\(secret)' | mzpanel-agent enroll --url \(url) --token-file -")

        let listed = try await runner.run(["servers", "list", "--json"])
        let servers = try #require(listed.object["servers"] as? [[String: Any]])
        #expect(servers.map { $0["name"] as? String } == ["web-1"])

        let local = try await runner.run([
            "destinations", "add", "here", "--kind", "local", "--path", directory.appendingPathComponent("repo").path, "--json",
        ])
        #expect(local.status == 0, "\(local.stderr)")
        #expect(local.object["kind"] as? String == "local")

        let offsite = try await runner.run([
            "destinations", "add", "cloud", "--kind", "s3", "--endpoint", "https://s3.example.com", "--bucket", "backups",
        ])
        #expect(offsite.status != 0)
        #expect(offsite.stderr.contains("Plus plan"))

        let job = try await runner.run([
            "jobs", "add", "nightly", "--server", "web-1", "--kind", "full", "--path", "/etc", "--exclude", "*.tmp",
            "--schedule", "daily 02:30", "--tz", "Europe/Berlin", "--keep-last", "2", "--destination", "here", "--json",
        ])
        #expect(job.status == 0, "\(job.stderr)")
        #expect((job.object["schedule"] as? [String: Any])?["timeZone"] as? String == "Europe/Berlin")
        #expect((job.object["retention"] as? [String: Any])?["keepLast"] as? Int == 2)

        let site = try await runner.run([
            "jobs", "add", "shop", "--server", "web-1", "--site", "/var/www/shop", "--database", "mariadb:shop",
            "--schedule", "daily", "--keep-daily", "7", "--destination", "here", "--json",
        ])
        #expect(site.status == 0, "\(site.stderr)")
        #expect(site.object["kind"] as? String == "full")
        let siteSources = try #require(site.object["sources"] as? [String: Any])
        #expect(siteSources["paths"] as? [String] == ["/var/www/shop"])
        #expect((siteSources["excludes"] as? [String])?.contains("/var/www/shop/wp-content/cache") == true)
        #expect((siteSources["databases"] as? [[String: Any]])?.first?["engine"] as? String == "mariadb")

        let edited = try await runner.run(["jobs", "edit", "nightly", "--keep-daily", "7", "--disable", "--json"])
        #expect(edited.status == 0, "\(edited.stderr)")
        #expect((edited.object["retention"] as? [String: Any])?["keepDaily"] as? Int == 7)
        #expect(edited.object["enabled"] as? Bool == false)

        let shown = try await runner.run(["jobs", "show", "nightly"])
        #expect(shown.status == 0)
        #expect(shown.stdout.contains("keeps 7 daily"))

        let runs = try await runner.run(["runs", "list", "--job", "nightly", "--json"])
        #expect(runs.status == 0, "\(runs.stderr)")
        #expect((runs.object["runs"] as? [Any])?.isEmpty == true)
        let snapshots = try await runner.run(["snapshots", "list", "--server", "web-1", "--destination", "here", "--json"])
        #expect(snapshots.status == 0, "\(snapshots.stderr)")
        #expect((snapshots.object["snapshots"] as? [Any])?.isEmpty == true)

        // Destructive commands need confirmation when not on a terminal.
        let refused = try await runner.run(["jobs", "rm", "nightly"])
        #expect(refused.status != 0)
        #expect(refused.stderr.contains("--yes"))
        #expect(try await runner.run(["jobs", "show", "nightly", "--json"]).status == 0)
        #expect(try await runner.run(["jobs", "rm", "nightly", "--yes"]).status == 0)
        #expect(try await runner.run(["jobs", "show", "nightly"]).status == 3)
        #expect(try await runner.run(["servers", "rm", "web-1", "--yes"]).status == 0)
    }

    @Test("bad input gets a clear message and a non-zero exit, never a crash")
    func badInput() async throws {
        let token = try await createAccount(plan: "plus")
        let (hub, url) = try await runner.startHub()
        defer {
            hub.terminate()
            hub.waitUntilExit()
        }
        #expect(try await runner.run(["login", "--url", url, "--token-file", "-"], stdin: token).status == 0)
        #expect(try await runner.run(["servers", "add", "db-1"]).status == 0)
        #expect(try await runner.run(["destinations", "add", "here", "--kind", "local", "--path", "/srv/backups"]).status == 0)

        let cases: [(arguments: [String], message: String)] = [
            (["servers", "add", "bad name"], "contains \" \""),
            (["servers", "show", "nope"], "no server \"nope\""),
            (["destinations", "add", "rel", "--kind", "local", "--path", "relative/dir"], "not an absolute path"),
            (["destinations", "add", "odd", "--kind", "tape"], "not a destination kind"),
            (
                ["jobs", "add", "j", "--server", "db-1", "--kind", "full", "--path", "etc", "--schedule", "daily", "--destination", "here"],
                "absolute"
            ),
            (
                ["jobs", "add", "j", "--server", "db-1", "--kind", "full", "--path", "/etc", "--schedule", "*-*-* 25:00", "--destination", "here"],
                "25"
            ),
            (
                [
                    "jobs", "add", "j", "--server", "db-1", "--kind", "full", "--path", "/etc", "--schedule", "daily", "--tz", "Mars/Base",
                    "--destination", "here",
                ], "Mars/Base"
            ),
            (
                [
                    "jobs", "add", "j", "--server", "db-1", "--kind", "database", "--database", "oracle:x", "--schedule", "daily", "--destination",
                    "here",
                ], "not a database engine"
            ),
            (
                [
                    "jobs", "add", "j", "--server", "db-1", "--kind", "full", "--path", "/etc", "--schedule", "daily", "--keep-within", "7x",
                    "--destination", "here",
                ], "unit"
            ),
            (
                ["jobs", "add", "j", "--server", "db-1", "--kind", "full", "--path", "/etc", "--schedule", "daily", "--destination", "nowhere"],
                "no destination \"nowhere\""
            ),
            (["runs", "list", "--since", "yesterday"], "ISO-8601"),
            (["runs", "list", "--status", "great"], "status=great"),
            (["snapshots", "list", "--cursor", "garbage"], "cursor"),
            (["schedule", "preview", "every blue moon"], "every"),
        ]
        for item in cases {
            let result = try await runner.run(item.arguments)
            #expect(result.status != 0, "\(item.arguments) should fail")
            #expect(result.stderr.contains(item.message), "\(item.arguments): \(result.stderr)")
            #expect(!result.stderr.contains("Fatal error"), "\(item.arguments) crashed")
        }
        #expect(try await runner.run(["jobs", "list", "--no-such-flag"]).status == 64)
    }

    @Test("tokens: a metrics token is created (its secret printed once), reads /metrics only, is listed with its scope and revoked")
    func scopedTokens() async throws {
        let token = try await createAccount(plan: "free")
        let (hub, url) = try await runner.startHub()
        defer {
            hub.terminate()
            hub.waitUntilExit()
        }
        #expect(try await runner.run(["login", "--url", url, "--token-file", "-"], stdin: token + "\n").status == 0)

        let created = try await runner.run(["tokens", "create", "prometheus", "--scope", "metrics", "--expires", "30d"])
        #expect(created.status == 0, "\(created.stderr)")
        #expect(created.stdout.contains("scope metrics") && created.stdout.contains("shown this once"), "\(created.stdout)")
        let secret = try #require(created.stdout.firstMatch(of: /mzp_[a-z0-9]{40}/).map { String($0.output) })

        func get(_ path: String, with bearer: String) async throws -> (Int, String) {
            var request = URLRequest(url: URL(string: url + path)!)
            request.setValue("Bearer \(bearer)", forHTTPHeaderField: "Authorization")
            let (data, response) = try await URLSession.shared.data(for: request)
            return ((response as? HTTPURLResponse)?.statusCode ?? 0, String(decoding: data, as: UTF8.self))
        }
        #expect(try await get("/metrics", with: secret).0 == 200)
        let refused = try await get("/api/v1/servers", with: secret)
        #expect(refused.0 == 403 && refused.1.contains("needs the read scope"), "\(refused)")

        let listed = try await runner.run(["tokens", "list", "--json"])
        let tokens = try #require(listed.object["tokens"] as? [[String: Any]])
        let made = try #require(tokens.first { $0["name"] as? String == "prometheus" })
        #expect(made["scope"] as? String == "metrics" && made["expiresAt"] is String)
        #expect(tokens.first { $0["name"] as? String == "created with the account" }?["scope"] as? String == "admin")
        #expect(!listed.stdout.contains(secret), "the secret is printed once, at creation")
        let table = try await runner.run(["tokens", "list"])
        #expect(table.stdout.contains("SCOPE") && table.stdout.contains("metrics"), "\(table.stdout)")

        let wrong = try await runner.run(["tokens", "create", "x", "--scope", "root"])
        #expect(wrong.status != 0 && wrong.stderr.contains("not a token scope"), "\(wrong.stderr)")

        let id = try #require(made["id"] as? String)
        #expect(try await runner.run(["tokens", "revoke", id]).status == 0)
        #expect(try await get("/metrics", with: secret).0 == 401)
    }

    @Test("client commands without a login say how to log in")
    func notLoggedIn() async throws {
        let result = try await runner.run(["servers", "list"])
        #expect(result.status == 2)
        #expect(result.stderr.contains("mzpanel login"))
    }

    @Test("schedule preview prints the next elapses in the chosen zone")
    func schedulePreview() async throws {
        let result = try await runner.run([
            "schedule", "preview", "daily 02:30", "--tz", "Europe/Berlin", "--count", "3", "--from", "2026-01-10T00:00:00Z", "--json",
        ])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.object["next"] as? [String] == ["2026-01-10T01:30:00.000Z", "2026-01-11T01:30:00.000Z", "2026-01-12T01:30:00.000Z"])
    }
}
