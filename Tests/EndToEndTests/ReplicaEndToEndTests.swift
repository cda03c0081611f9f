import Foundation
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// Two `mzpanel serve` processes on one PostgreSQL database (docs/operations.md, "Several hub
/// replicas"): an agent connected to replica A gets a run-now issued through replica B at once,
/// woken by LISTEN/NOTIFY. Both replicas run with a safety poll longer than the agents' long-poll,
/// so a command reaches the agent quickly only when a notification wakes its poll.
@Suite("hub replicas on one PostgreSQL database", .serialized)
struct ReplicaEndToEndTests {
    static var postgres: URLComponents? {
        ProcessInfo.processInfo.environment["MZPANEL_TEST_POSTGRES_URL"].flatMap { URLComponents(string: $0) }
    }

    @Test(
        "a run-now issued through one replica reaches the agent polling another at once, and the run succeeds",
        .enabled(if: Fleet.available && postgres != nil, "needs the binaries, restic and MZPANEL_TEST_POSTGRES_URL"))
    func runNowAcrossReplicas() async throws {
        let (url, drop) = try await Self.freshDatabase()
        defer { drop() }
        let environment = ["MZPANEL_DATABASE_URL": url, "MZPANEL_SAFETY_POLL_SECONDS": "120"]
        let fleet = try await Fleet(plan: "free", hubEnvironment: environment)
        var replicaB: Process?
        defer {
            replicaB?.terminate()
            replicaB?.waitUntilExit()
            fleet.shutdown()
        }
        let started = try await fleet.cli.startHub(log: fleet.directory.appendingPathComponent("hub-b.log"))
        replicaB = started.process
        var throughB = fleet.cli
        let config = try JSONSerialization.jsonObject(with: Data(contentsOf: fleet.directory.appendingPathComponent("client.json"))) as? [String: Any]
        throughB.environment["MZPANEL_URL"] = started.url
        throughB.environment["MZPANEL_TOKEN"] = try #require(config?["token"] as? String)

        let agent = try await fleet.enroll("web-1")
        _ = try fleet.startDaemon(agent)
        let tree = try fleet.makeTree("site")
        // Several download parts' worth of bytes that do not compress.
        var generator = SystemRandomNumberGenerator()
        let large = Data((0..<(3 * 1024 * 1024 + 4321)).map { _ in UInt8.random(in: 0...255, using: &generator) })
        try large.write(to: tree.appendingPathComponent("large.bin"))
        let repository = fleet.directory.appendingPathComponent("repo")
        #expect(try await fleet.cli.run(["destinations", "add", "nas", "--kind", "local", "--path", repository.path]).status == 0)
        let job = try await fleet.cli.run([
            "jobs", "add", "nightly", "--server", "web-1", "--kind", "full", "--path", tree.path, "--schedule", "daily 03:00",
            "--destination", "nas",
        ])
        #expect(job.status == 0, "\(job.stderr)")
        // Replica B sees what A wrote: one database.
        #expect(try await throughB.run(["servers", "list"]).stdout.contains("web-1"))

        // Three run-nows through B, each picked up by the agent (whose poll A holds) within 10 s:
        // with a 120 s safety poll and 25 s long-polls, only a notification makes that likely three times.
        for round in 1...3 {
            let issued = Date()
            let run = try await throughB.run(["jobs", "run", "nightly", "--json"])
            let runID = try #require(run.object["id"] as? String, "\(run.stdout)\(run.stderr)")
            var pickedUp: Date?
            _ = try await fleet.eventually(60) {
                let shown = try await throughB.run(["runs", "show", runID, "--json"]).object
                if pickedUp == nil, (shown["status"] as? String) != "queued" { pickedUp = Date() }
                return (shown["status"] as? String) == "succeeded"
            }
            let waited = try #require(pickedUp, "round \(round): the run never left queued").timeIntervalSince(issued)
            #expect(waited < 10, "round \(round): the agent took \(waited) s to start a run queued through the other replica")
            let finished = try await fleet.cli.run(["runs", "show", runID, "--json"]).object
            #expect(finished["status"] as? String == "succeeded", "round \(round): \(finished)")
        }

        // A download asked through B, whose parts the agent posts to A: they pass through the
        // database to B, in order, byte for byte.
        let snapshots = try await throughB.run(["snapshots", "list", "--json"])
        let snapshot = try #require(
            (snapshots.object["snapshots"] as? [[String: Any]])?.first?["id"] as? String,
            "\(snapshots.stdout)")
        let browse = try await throughB.run(["snapshots", "browse", snapshot, tree.path, "--json"])
        #expect(browse.status == 0, "\(browse.stdout)\(browse.stderr)")
        let downloaded = fleet.directory.appendingPathComponent("large.downloaded")
        let download = try await throughB.run(["snapshots", "download", snapshot, tree.path + "/large.bin", "-o", downloaded.path])
        #expect(download.status == 0, "\(download.stdout)\(download.stderr)")
        #expect(try Data(contentsOf: downloaded) == large, "the download through B differs from the file backed up")

        // Failed logins counted on A hold on B: the throttle's state is in the database.
        for _ in 0..<5 { #expect(try await Self.login(fleet.url, "fleet@example.com", "wrong password") == 401) }
        #expect(try await Self.login(started.url, "fleet@example.com", "wrong password") == 429, "B did not see A's failures")
    }

    /// An empty PostgreSQL database for one test's replicas, and what drops it.
    static func freshDatabase() async throws -> (url: String, drop: @Sendable () -> Void) {
        let base = try #require(Self.postgres)
        let home = base.path.split(separator: "/").first.map(String.init) ?? "postgres"
        let database = "mzpanel_replicas_" + UUID().uuidString.prefix(8).lowercased()
        #expect(try await HubBackupPostgresTests.psql(base, database: home, "CREATE DATABASE \(database)").status == 0)
        var url = base
        url.path = "/" + database
        return (
            url.string ?? "",
            { Task { _ = try? await HubBackupPostgresTests.psql(base, database: home, "DROP DATABASE IF EXISTS \(database) WITH (FORCE)") } }
        )
    }

    /// `POST /api/v1/session` with a password; the answer's status.
    static func login(_ hub: String, _ email: String, _ password: String) async throws -> Int {
        var request = URLRequest(url: try #require(URL(string: hub + "/api/v1/session")))
        request.httpMethod = "POST"
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.httpBody = try JSONSerialization.data(withJSONObject: ["email": email, "password": password])
        let (_, response) = try await URLSession.shared.data(for: request)
        return (response as? HTTPURLResponse)?.statusCode ?? 0
    }

    /// A GET's status (0 when nothing answered).
    static func status(_ url: String) async throws -> Int {
        let request = URLRequest(url: try #require(URL(string: url)), timeoutInterval: 5)
        return ((try? await URLSession.shared.data(for: request))?.1 as? HTTPURLResponse)?.statusCode ?? 0
    }
}
