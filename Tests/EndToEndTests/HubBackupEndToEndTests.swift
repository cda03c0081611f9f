import Foundation
import Testing

/// `mzpanel admin backup` and `restore`: a hub rebuilt from its backup on a fresh data directory
/// keeps its agents (same credential, same jobs) and its history.
@Suite("backing up and restoring the hub", .serialized, .enabled(if: Fleet.available, "mzpanel, mzpanel-agent or restic is missing"))
struct HubBackupEndToEndTests {
    @Test("a hub restored onto a fresh data directory: the agent syncs, run now works, history and credential are kept")
    func restoreOntoFreshDirectory() async throws {
        let fleet = try await Fleet()
        defer { fleet.shutdown() }
        let agent = try await fleet.enroll("web-1")
        _ = try fleet.startDaemon(agent)
        let repositories = fleet.directory.appendingPathComponent("repos")
        #expect(try await fleet.cli.run(["destinations", "add", "here", "--kind", "local", "--path", repositories.path]).status == 0)
        let tree = try fleet.makeTree("site")
        func addJob(_ name: String) async throws -> String {
            let job = try await fleet.cli.run([
                "jobs", "add", name, "--server", "web-1", "--kind", "full", "--path", tree.path, "--schedule", "daily 03:00",
                "--keep-last", "5", "--destination", "here", "--json",
            ])
            return try #require(job.object["id"] as? String, "\(job.stderr)")
        }
        let nightly = try await addJob("nightly")
        #expect(try await fleet.eventually(30) { try await agent.run(["status", "--json"]).stdout.contains(nightly) })
        let first = try await fleet.cli.run(["jobs", "run", "nightly", "--wait", "--json"])
        #expect(first.object["status"] as? String == "succeeded", "\(first.stdout)\(first.stderr)")

        // Online: the hub keeps running while its backup is taken.
        let passphrase = fleet.directory.appendingPathComponent("backup-passphrase")
        try "correct horse battery staple\n".write(to: passphrase, atomically: true, encoding: .utf8)
        let file = fleet.directory.appendingPathComponent("hub.backup")
        let backup = try await fleet.cli.run(["admin", "backup", "--to", file.path, "--passphrase-file", passphrase.path])
        #expect(backup.status == 0, "\(backup.stdout)\(backup.stderr)")
        let sealed = try Data(contentsOf: file)
        #expect(sealed.starts(with: Data("MZPANEL-HUB-BACKUP 1\n".utf8)))
        #expect(sealed.range(of: Data("ops@example.com".utf8)) == nil, "the backup must be encrypted")
        #expect((try FileManager.default.attributesOfItem(atPath: file.path)[.posixPermissions] as? Int) == 0o600)

        // The hub's machine is lost: its data directory with it.
        fleet.stopHub()
        try FileManager.default.removeItem(at: fleet.directory.appendingPathComponent("hub"))
        let fresh = fleet.directory.appendingPathComponent("hub-restored")
        fleet.useDataDirectory(fresh)
        let wrong = fleet.directory.appendingPathComponent("wrong-passphrase")
        try "not the passphrase at all\n".write(to: wrong, atomically: true, encoding: .utf8)
        let refused = try await fleet.cli.run(["admin", "restore", "--from", file.path, "--passphrase-file", wrong.path])
        #expect(refused.status != 0)
        #expect(refused.stderr.contains("wrong passphrase"), "\(refused.stderr)")
        var tampered = sealed
        tampered[tampered.count - 40] ^= 0x01
        let tamperedFile = fleet.directory.appendingPathComponent("tampered.backup")
        try tampered.write(to: tamperedFile)
        let changed = try await fleet.cli.run(["admin", "restore", "--from", tamperedFile.path, "--passphrase-file", passphrase.path])
        #expect(changed.status != 0 && changed.stderr.contains("the file was changed"), "\(changed.stderr)")
        #expect(!FileManager.default.fileExists(atPath: fresh.appendingPathComponent("hub.sqlite").path))
        let restored = try await fleet.cli.run(["admin", "restore", "--from", file.path, "--passphrase-file", passphrase.path])
        #expect(restored.status == 0, "\(restored.stdout)\(restored.stderr)")
        let again = try await fleet.cli.run(["admin", "restore", "--from", file.path, "--passphrase-file", passphrase.path])
        #expect(again.status != 0 && again.stderr.contains("--force"), "an existing state is not replaced silently")
        try await fleet.startHub()

        // The same agent, with the credential it had: its daemon reconnects, syncs a new job and runs on demand.
        let weekly = try await addJob("weekly")
        #expect(try await fleet.eventually(60) { try await agent.run(["status", "--json"]).stdout.contains(weekly) }, "the agent never synced")
        let second = try await fleet.cli.run(["jobs", "run", "nightly", "--wait", "--json"])
        #expect(second.status == 0 && second.object["status"] as? String == "succeeded", "\(second.stdout)\(second.stderr)")
        let runs = try await fleet.cli.run(["runs", "list", "--job", "nightly", "--json"])
        #expect((runs.object["runs"] as? [Any])?.count == 2, "the run from before the backup is kept: \(runs.stdout)")
    }
}

/// The PostgreSQL side of the hub backup: `pg_dump` into the file, loaded into another database.
@Suite(
    "backing up a hub on PostgreSQL", .serialized,
    .enabled(
        if: ProcessInfo.processInfo.environment["MZPANEL_TEST_POSTGRES_URL"] != nil
            && FileManager.default.isExecutableFile(atPath: "/usr/bin/pg_dump")
            && CommandRunner.locateBinary("mzpanel") != nil,
        "needs MZPANEL_TEST_POSTGRES_URL (scripts/test sets it), pg_dump and mzpanel"))
struct HubBackupPostgresTests {
    /// psql against the test server as the test role, the connection in its environment.
    static func psql(_ base: URLComponents, database: String, _ sql: String) async throws -> CommandResult {
        var environment = ProcessInfo.processInfo.environment
        environment["PGHOST"] = base.host
        environment["PGPORT"] = String(base.port ?? 5432)
        environment["PGUSER"] = base.user
        environment["PGPASSWORD"] = base.password
        environment["PGDATABASE"] = database
        return try await CommandRunner(binary: URL(fileURLWithPath: "/usr/bin/psql"), environment: environment).run(["-X", "-A", "-t", "-c", sql])
    }

    @Test("an account made on one database is there after a restore into another, empty one")
    func dumpAndLoad() async throws {
        let base = try #require(URLComponents(string: ProcessInfo.processInfo.environment["MZPANEL_TEST_POSTGRES_URL"] ?? ""))
        let home = base.path.split(separator: "/").first.map(String.init) ?? "postgres"
        let suffix = UUID().uuidString.prefix(8).lowercased()
        let source = "mzpanel_backup_\(suffix)_a"
        let target = "mzpanel_backup_\(suffix)_b"
        for name in [source, target] { #expect(try await Self.psql(base, database: home, "CREATE DATABASE \(name)").status == 0) }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("mzpanel-pgbackup-\(suffix)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        func hub(_ database: String) -> CommandRunner {
            var url = base
            url.path = "/" + database
            var environment = ProcessInfo.processInfo.environment
            environment["MZPANEL_DATA_DIR"] = directory.appendingPathComponent(database).path
            environment["MZPANEL_DATABASE_URL"] = url.string
            return CommandRunner(binary: CommandRunner.locateBinary("mzpanel")!, environment: environment)
        }
        let passphrase = directory.appendingPathComponent("pass")
        try "a passphrase long enough\n".write(to: passphrase, atomically: true, encoding: .utf8)
        let file = directory.appendingPathComponent("hub.backup")
        let created = try await hub(source).run(["admin", "create-account", "--email", "pg@example.com", "--plan", "free"])
        #expect(created.status == 0, "\(created.stderr)")
        let backup = try await hub(source).run(["admin", "backup", "--to", file.path, "--passphrase-file", passphrase.path])
        #expect(backup.status == 0 && backup.stdout.contains("postgresql"), "\(backup.stdout)\(backup.stderr)")
        let restored = try await hub(target).run(["admin", "restore", "--from", file.path, "--passphrase-file", passphrase.path])
        #expect(restored.status == 0, "\(restored.stdout)\(restored.stderr)")
        let plan = try await hub(target).run(["admin", "set-plan", "--email", "pg@example.com", "--plan", "plus"])
        #expect(plan.status == 0, "the restored database has the account: \(plan.stderr)")
        let again = try await hub(target).run(["admin", "restore", "--from", file.path, "--passphrase-file", passphrase.path])
        #expect(again.status != 0 && again.stderr.contains("--force"))
        for name in [source, target] { _ = try await Self.psql(base, database: home, "DROP DATABASE IF EXISTS \(name) WITH (FORCE)") }
    }
}
