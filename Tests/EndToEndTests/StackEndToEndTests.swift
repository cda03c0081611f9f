import Foundation
import Testing

/// Docker stacks as a user meets them: the agent's daemon reports the stack to the hub, the CLI
/// lists it, a stack job made from the CLI runs and takes the database from inside its container.
@Suite(
    "Docker stacks end to end (hub, agent daemon, engine)", .serialized,
    .enabled(
        if: Fleet.available
            && (ProcessInfo.processInfo.environment["MZPANEL_TEST_DOCKER"] == "1" || ProcessInfo.processInfo.environment["CI"] == "true"),
        "mzpanel, mzpanel-agent or restic is missing, or no Docker test engine (scripts/docker-test-env)"))
struct StackEndToEndTests {
    static func shell(_ command: String, in directory: URL) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", command]
        process.currentDirectoryURL = directory
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self)
        guard process.terminationStatus == 0 else { throw CommandFailure(description: "`\(command)`: \(text)") }
        return text
    }

    struct CommandFailure: Error, CustomStringConvertible {
        let description: String
    }

    @Test("the daemon reports a stack, mzpanel servers stacks lists it, and a stack job runs from the CLI")
    func discoverAndBackUp() async throws {
        let project = "mze\(UInt32.random(in: 0..<UInt32.max))"
        let fleet = try await Fleet()
        let directory = fleet.directory.appendingPathComponent(project)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer {
            _ = try? Self.shell("docker-compose -p \(project) down -v", in: directory)
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
        _ = try Self.shell("docker-compose -p \(project) up -d", in: directory)
        // Three answers in a row: a first start runs a temporary server to initialise, then restarts it.
        var answered = 0
        let ready = try await fleet.eventually(90) {
            let up =
                (try? Self.shell("docker exec $(docker-compose -p \(project) ps -q db) psql -U shop -d shop -Atc 'select 1'", in: directory)) != nil
            answered = up ? answered + 1 : 0
            if answered < 3 { try await Task.sleep(for: .seconds(1)) }
            return answered >= 3
        }
        try #require(ready, "PostgreSQL in the stack did not start")

        let agent = try await fleet.enroll("web-1")
        _ = try fleet.startDaemon(agent)
        let listed = try await fleet.eventually(60) {
            let result = try await fleet.cli.run(["servers", "stacks", "web-1", "--json"])
            return result.stdout.contains("\"project\" : \"\(project)\"") || result.stdout.contains("\"project\":\"\(project)\"")
        }
        #expect(listed, "the daemon never reported stack \(project)")
        let text = try await fleet.cli.run(["servers", "stacks", "web-1"])
        #expect(text.status == 0, "\(text.stderr)")
        #expect(text.stdout.contains("service db") && text.stdout.contains("database: postgresql"), "\(text.stdout)")
        #expect(text.stdout.contains("volume  uploads"), "\(text.stdout)")
        #expect(!text.stdout.contains("e2e-secret"))

        let destination = try await fleet.cli.run([
            "destinations", "add", "here", "--kind", "local", "--path", fleet.directory.appendingPathComponent("repos").path,
        ])
        #expect(destination.status == 0, "\(destination.stderr)")
        let job = try await fleet.cli.run([
            "jobs", "add", "stack", "--server", "web-1", "--stack", project, "--stop", "app", "--schedule", "daily 03:00",
            "--keep-daily", "7", "--destination", "here", "--json",
        ])
        #expect(job.status == 0, "\(job.stderr)")
        let jobID = try #require(job.object["id"] as? String)
        let known = try await fleet.eventually(30) { try await agent.run(["status", "--json"]).stdout.contains(jobID) }
        #expect(known)
        let run = try await fleet.cli.run(["jobs", "run", "stack", "--wait", "--json"])
        #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
        #expect(run.object["status"] as? String == "succeeded", "\(run.stdout)")
        let snapshot = try #require(run.object["snapshot"] as? [String: Any])
        let copy = try #require((snapshot["copies"] as? [[String: Any]])?.first)
        #expect((copy["resticSnapshotIDs"] as? [Any])?.count == 2, "the database dump and the files")
        let shown = try await fleet.cli.run(["jobs", "show", "stack"])
        #expect(shown.stdout.contains("Stack") && shown.stdout.contains("\(project) (stops app)"), "\(shown.stdout)")
    }
}
