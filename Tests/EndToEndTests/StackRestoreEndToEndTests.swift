import Foundation
import Testing

/// Stack restores driven from the hub (`mzpanel restore SNAPSHOT --stack …`, docs/stacks.md) with
/// the real hub, two agent daemons, a Docker engine and an S3 server (moto): names checked by the
/// hub, a dry run that changes nothing, a non-empty volume refused without --overwrite, one volume
/// restored in place, one database loaded into another name, and the whole stack brought up on a
/// second server as another project in another directory. One stack fixture serves every case.
@Suite(
    "Docker stack restores from the hub (hub, two agent daemons, engine, S3)", .serialized,
    .enabled(
        if: MotoS3.available
            && (ProcessInfo.processInfo.environment["MZPANEL_TEST_DOCKER"] == "1" || ProcessInfo.processInfo.environment["CI"] == "true"),
        "mzpanel, mzpanel-agent or restic is missing, MZPANEL_TEST_S3_URL is not set, or no Docker test engine (scripts/docker-test-env)"))
struct StackRestoreEndToEndTests {
    static func shell(_ command: String, in directory: URL) throws -> String { try StackEndToEndTests.shell(command, in: directory) }

    /// Rows of the orders table (count and md5) of `database`, and the uploads volume's tree (paths,
    /// modes, owners, sizes, sha256) as the app container sees it.
    static func fingerprint(project: String, directory: URL, database: String = "shop") throws -> (rows: String, tree: String) {
        let db = try shell("docker-compose -p \(project) ps -q db", in: directory).trimmingCharacters(in: .whitespacesAndNewlines)
        let app = try shell("docker-compose -p \(project) ps -q app", in: directory).trimmingCharacters(in: .whitespacesAndNewlines)
        let rows = try shell(
            "docker exec \(db) psql -U shop -d \(database) -Atc \"select count(*), md5(string_agg(note, ',' order by id)) from orders\"",
            in: directory)
        let tree = try shell(
            "docker exec \(app) sh -c 'cd /srv/uploads && find . -printf \"%p %m %u %g %s\\n\" | sort && find . -type f -exec sha256sum {} + | sort'",
            in: directory)
        return (rows, tree)
    }

    static func waitForDatabase(_ fleet: Fleet, project: String, directory: URL) async throws -> Bool {
        var answered = 0
        return try await fleet.eventually(90) {
            let up =
                (try? shell("docker exec $(docker-compose -p \(project) ps -q db) psql -U shop -d shop -Atc 'select 1'", in: directory)) != nil
            answered = up ? answered + 1 : 0
            if answered < 3 { try await Task.sleep(for: .seconds(1)) }
            return answered >= 3
        }
    }

    @Test("hub-driven stack restores: checked names, dry run, refusal, one volume, one database into another name, whole stack on a second server")
    func restoresFromTheHub() async throws {
        let s3 = try #require(MotoS3.url)
        let secrets = try OffsiteEndToEndTests.Secrets()
        let project = "mzr\(UInt32.random(in: 0..<UInt32.max))"
        let copy = project + "copy"
        let fleet = try await Fleet(plan: "plus")
        let directory = fleet.directory.appendingPathComponent(project)
        let copyDirectory = fleet.directory.appendingPathComponent("elsewhere/\(copy)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer {
            _ = try? Self.shell("docker-compose -p \(project) down -v", in: directory)
            _ = try? Self.shell("docker-compose -p \(copy) down -v", in: copyDirectory)
            fleet.shutdown()
        }
        let postgres = ProcessInfo.processInfo.environment["MZPANEL_TEST_POSTGRES_IMAGE"] ?? "mzpanel-test/postgres:15"
        try """
        version: "2.4"
        services:
          db:
            image: \(postgres)
            network_mode: none
            environment: {POSTGRES_USER: shop, POSTGRES_PASSWORD: e2e-secret, POSTGRES_DB: shop}
            volumes: [pgdata:/var/lib/postgresql/data]
          app:
            image: mzpanel-test/debian:12
            network_mode: none
            init: true
            command: sleep infinity
            volumes: [uploads:/srv/uploads]
        volumes:
          pgdata:
          uploads:

        """.write(to: directory.appendingPathComponent("docker-compose.yml"), atomically: true, encoding: .utf8)
        try "SHOP_MODE=production\n".write(to: directory.appendingPathComponent(".env"), atomically: true, encoding: .utf8)
        _ = try Self.shell("docker-compose -p \(project) up -d", in: directory)
        try #require(try await Self.waitForDatabase(fleet, project: project, directory: directory), "PostgreSQL in the stack did not start")
        let db = try Self.shell("docker-compose -p \(project) ps -q db", in: directory).trimmingCharacters(in: .whitespacesAndNewlines)
        let app = try Self.shell("docker-compose -p \(project) ps -q app", in: directory).trimmingCharacters(in: .whitespacesAndNewlines)
        _ = try Self.shell(
            "docker exec \(db) psql -U shop -d shop -qc \"create table orders as select g as id, md5(g::text) as note from generate_series(1, 5000) g\"",
            in: directory)
        _ = try Self.shell(
            "docker exec \(app) sh -c 'mkdir -p /srv/uploads/a && echo hello > /srv/uploads/a/hello.txt && head -c 100000 /dev/urandom > /srv/uploads/blob"
                + " && chmod 640 /srv/uploads/a/hello.txt && chown 33:33 /srv/uploads/blob && ln -s a/hello.txt /srv/uploads/link'", in: directory)
        let before = try Self.fingerprint(project: project, directory: directory)
        #expect(before.rows.hasPrefix("5000|"), "\(before.rows)")

        // Server A backs the stack up to S3.
        let agentA = try await fleet.enroll("web-1")
        _ = try fleet.startDaemon(agentA)
        let added = try await fleet.cli.run(
            [
                "destinations", "add", "offsite", "--kind", "s3", "--endpoint", s3, "--bucket",
                "mzpanel-stack-" + UUID().uuidString.prefix(8).lowercased(),
                "--access-key-id-file", secrets.file("key-id").path, "--secret-access-key-file", secrets.file("secret").path,
                "--repository-password-file", secrets.file("password").path, "--recovery-key-out", secrets.file("recovery").path,
            ] + secrets.vaultArguments)
        #expect(added.status == 0, "\(added.stderr)")
        try await fleet.trust(agentA, vault: secrets.vaultArguments)
        let job = try await fleet.cli.run(
            [
                "jobs", "add", "stack", "--server", "web-1", "--stack", project, "--schedule", "daily 03:00", "--keep-daily", "7",
                "--destination", "offsite", "--json",
            ] + secrets.vaultArguments)
        #expect(job.status == 0, "\(job.stderr)")
        let jobID = try #require(job.object["id"] as? String)
        #expect(try await fleet.eventually(30) { try await agentA.run(["status", "--json"]).stdout.contains(jobID) })
        let run = try await fleet.cli.run(["jobs", "run", "stack", "--wait", "--json"])
        #expect(run.object["status"] as? String == "succeeded", "\(run.stdout)\(run.stderr)")
        let snapshot = try #require((run.object["snapshot"] as? [String: Any])?["id"] as? String, "\(run.stdout)")

        // The hub knows what the snapshot holds, and checks the names asked for against it.
        let shown = try await fleet.api("GET", "/api/v1/snapshots/\(snapshot)")
        let contents = try #require(shown["stack"] as? [String: Any], "\(shown)")
        #expect(contents["project"] as? String == project && (contents["volumes"] as? [String])?.sorted() == ["pgdata", "uploads"], "\(contents)")
        let text = try await fleet.cli.run(["snapshots", "show", snapshot])
        #expect(text.stdout.contains("service db: database: postgresql dump, volume pgdata"), "\(text.stdout)")
        #expect(text.stdout.contains("service app: volume uploads"), "\(text.stdout)")
        let unknown = try await fleet.cli.run(["restore", snapshot, "--stack", "--volume", "nosuch", "--database", "db"])
        #expect(unknown.status != 0 && unknown.stderr.contains("no volume nosuch"), "\(unknown.stderr)")

        // After the backup the volume changes; a dry run reports and changes nothing.
        _ = try Self.shell("docker exec \(app) sh -c 'echo later > /srv/uploads/marker'", in: directory)
        let changed = try Self.fingerprint(project: project, directory: directory)
        let dry = try await fleet.cli.run(["restore", snapshot, "--stack", "--dry-run", "--wait"])
        #expect(dry.status == 0, "\(dry.stdout)\(dry.stderr)")
        #expect(dry.stdout.contains("dry run: nothing was changed") && dry.stdout.contains("refused without --overwrite"), "\(dry.stdout)")
        #expect(try Self.fingerprint(project: project, directory: directory) == changed)

        // A non-empty volume is refused without --overwrite, then replaced with it.
        let refused = try await fleet.cli.run(["restore", snapshot, "--stack", "--volume", "uploads", "--wait"])
        #expect(refused.status != 0 && refused.stdout.contains("volume \(project)_uploads is not empty"), "\(refused.stdout)\(refused.stderr)")
        #expect(try Self.fingerprint(project: project, directory: directory) == changed)
        let volume = try await fleet.cli.run(
            ["restore", snapshot, "--stack", "--volume", "uploads", "--overwrite", "--wait"] + secrets.vaultArguments)
        #expect(volume.status == 0, "\(volume.stdout)\(volume.stderr)")
        #expect(try Self.fingerprint(project: project, directory: directory) == before)

        // One database into another name of the running stack; the original is untouched.
        _ = try Self.shell("docker exec \(db) psql -U shop -d shop -qc 'delete from orders where id > 100'", in: directory)
        let database = try await fleet.cli.run(["restore", snapshot, "--stack", "--database", "db=shop_copy", "--wait"])
        #expect(database.status == 0, "\(database.stdout)\(database.stderr)")
        #expect(try Self.fingerprint(project: project, directory: directory, database: "shop_copy").rows == before.rows)
        #expect(try Self.fingerprint(project: project, directory: directory).rows.hasPrefix("100|"))

        // The whole stack on server B (same engine), as another project in another directory.
        let agentB = try await fleet.enroll("web-2")
        _ = try fleet.startDaemon(agentB)
        try await fleet.trust(agentB, vault: secrets.vaultArguments)
        let attached = try await fleet.cli.run(["destinations", "attach", "offsite", "--server", "web-2"] + secrets.vaultArguments)
        #expect(attached.status == 0, "\(attached.stderr)")
        let whole = try await fleet.cli.run(
            [
                "restore", snapshot, "--stack", "--server", "web-2", "--project", copy, "--project-dir", copyDirectory.path, "--wait", "--json",
            ] + secrets.vaultArguments)
        #expect(whole.status == 0, "\(whole.stdout)\(whole.stderr)")
        #expect(whole.object["serverID"] as? String == agentB.serverID, "\(whole.stdout)")
        let restored = try Self.fingerprint(project: copy, directory: copyDirectory)
        #expect(restored.rows == before.rows && restored.tree == before.tree)
        #expect(try String(contentsOf: copyDirectory.appendingPathComponent(".env"), encoding: .utf8) == "SHOP_MODE=production\n")
        let volumes = try Self.shell("docker volume ls -q --filter label=com.docker.compose.project=\(copy) | sort", in: directory)
        #expect(volumes == "\(copy)_pgdata\n\(copy)_uploads\n", "recreated with compose's labels: \(volumes)")
        let running = try Self.shell("docker-compose -p \(copy) ps --services --filter status=running | sort", in: copyDirectory)
        #expect(running == "app\ndb\n", "\(running)")
    }
}
