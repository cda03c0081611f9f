import Foundation
import Testing

/// Two `mzpanel serve` replicas on one PostgreSQL database: only the holder of the notifier's lease
/// delivers. Killed with SIGKILL while its webhook post is in flight (the receiver holds the answer),
/// it loses nothing — the other replica takes the lease when it expires and posts the same delivery
/// again — and creates nothing twice: every post carries the one delivery id a receiver keys on.
@Suite("hub replicas: a notifier killed mid-delivery", .serialized)
struct ReplicaNotifierEndToEndTests {
    @Test(
        "the lease holder killed during a webhook post: the other replica delivers the same delivery once more, and nothing else",
        .enabled(if: Fleet.available && ReplicaEndToEndTests.postgres != nil, "needs the binaries, restic and MZPANEL_TEST_POSTGRES_URL"))
    func killedMidDelivery() async throws {
        let (database, drop) = try await ReplicaEndToEndTests.freshDatabase()
        defer { drop() }
        let fleet = try await Fleet(
            plan: "free", hubEnvironment: ["MZPANEL_DATABASE_URL": database, "MZPANEL_NOTIFY_INTERVAL_SECONDS": "1"])
        let second = try await fleet.cli.startHub(log: fleet.directory.appendingPathComponent("hub-b.log"), arguments: [])
        defer {
            if second.process.isRunning {
                second.process.terminate()
                second.process.waitUntilExit()
            }
            fleet.shutdown()
        }
        let receiver = try await NotificationEndToEndTests.startReceiver(in: fleet.directory, holdFirst: 8)
        defer { CommandRunner.stop(receiver.process) }
        _ = try await fleet.api("POST", "/api/v1/notifications/channels", body: ["name": "ops-hook", "url": receiver.url])

        // A run that fails (its folder does not exist): the job is failing, one alert is due.
        let agent = try await fleet.enroll("web-1")
        #expect(
            try await fleet.cli.run([
                "destinations", "add", "here", "--kind", "local", "--path", fleet.directory.appendingPathComponent("repos").path,
            ]).status == 0)
        let missing = fleet.directory.appendingPathComponent("no-such-folder").path
        let job = try await fleet.cli.run([
            "jobs", "add", "site", "--server", "web-1", "--kind", "full", "--path", missing, "--schedule", "daily 03:00",
            "--destination", "here", "--json",
        ])
        let jobID = try #require(job.object["id"] as? String, "\(job.stdout)\(job.stderr)")
        _ = try fleet.startDaemon(agent)
        #expect(try await fleet.eventually(30) { try await agent.run(["status", "--json"]).stdout.contains(jobID) }, "the agent never synced")
        let run = try await agent.run(["run", jobID, "--trigger", "manual"])
        #expect(run.status != 0, "the run of a missing folder fails: \(run.stdout)\(run.stderr)")

        func posts() -> [[String: String]] {
            receiver.requests.filter { $0["method"] as? String == "POST" }.compactMap { $0["headers"] as? [String: String] }
                .filter { $0["x-mzpanel-event"] == "job.failing" }
        }
        // The holder's post arrives and waits for its answer: kill the holder now.
        #expect(try await fleet.eventually(60) { !posts().isEmpty }, "no job.failing post arrived: \(receiver.requests)")
        let base = try #require(ReplicaEndToEndTests.postgres)
        let name = String(try #require(URLComponents(string: database)?.path.dropFirst()))
        let holder = try await HubBackupPostgresTests.psql(base, database: name, "SELECT holder FROM hub_leases WHERE name = 'notifier'")
            .stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let holderIsFirst = holder.hasSuffix(":\(fleet.port)")
        #expect(holderIsFirst || holder.hasSuffix(second.url.split(separator: ":").last.map { ":" + $0 } ?? "?"), "holder \(holder)")
        let victim = try #require(holderIsFirst ? fleet.hub : second.process)
        kill(victim.processIdentifier, SIGKILL)
        victim.waitUntilExit()

        // The survivor takes the lease when it expires (a minute) and posts the delivery again.
        #expect(try await fleet.eventually(100) { posts().count >= 2 }, "the delivery was lost with the killed replica: \(posts())")
        try await Task.sleep(for: .seconds(4))
        let all = posts()
        #expect(all.count == 2, "one post by the killed replica, one by the survivor: \(all)")
        #expect(Set(all.compactMap { $0["x-mzpanel-delivery"] }).count == 1, "both posts are the one delivery: \(all)")
    }
}
