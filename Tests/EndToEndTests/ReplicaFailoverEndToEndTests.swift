import Foundation
import Testing

/// Three `mzpanel serve` replicas on one PostgreSQL database behind a real HAProxy, as
/// docs/operations.md deploys them: a slot missed by its box is fired once with all three
/// schedulers running; a replica killed with SIGKILL while it holds every agent's long-poll loses
/// no agent (each is back through the others within 30 s) and a download through the front works
/// afterwards.
@Suite("three hub replicas behind HAProxy", .serialized)
struct ReplicaFailoverEndToEndTests {
    static let haproxy = URL(fileURLWithPath: "/usr/sbin/haproxy")

    @Test(
        "a missed slot fires once with three schedulers; killing the replica that holds the agents' polls loses no agent",
        .enabled(
            if: Fleet.available && ReplicaEndToEndTests.postgres != nil && FileManager.default.isExecutableFile(atPath: haproxy.path),
            "needs the binaries, restic, MZPANEL_TEST_POSTGRES_URL and haproxy"))
    func failover() async throws {
        let (database, drop) = try await ReplicaEndToEndTests.freshDatabase()
        defer { drop() }
        let frontPort = Int.random(in: 50_000..<60_000)
        let front = "http://127.0.0.1:\(frontPort)"
        let environment = [
            "MZPANEL_DATABASE_URL": database, "MZPANEL_PUBLIC_URL": front, "MZPANEL_SCHEDULER_DELAY_SECONDS": "4",
            "MZPANEL_TRUSTED_PROXIES": "127.0.0.1/32",
        ]
        let fleet = try await Fleet(plan: "free", hubEnvironment: environment)
        var processes: [Process] = []
        defer {
            for process in processes where process.isRunning {
                process.terminate()
                process.waitUntilExit()
            }
            fleet.shutdown()
        }
        var ports: [Int] = []
        for name in ["b", "c"] {
            let started = try await fleet.cli.startHub(log: fleet.directory.appendingPathComponent("hub-\(name).log"))
            processes.append(started.process)
            ports.append(Int(started.url.split(separator: ":").last ?? "") ?? 0)
        }
        let replicaB = processes[0]
        // `balance first`: every connection goes to B while it is up, so B holds every agent's poll.
        let config = fleet.directory.appendingPathComponent("haproxy.cfg")
        try """
        defaults
            mode http
            timeout connect 2s
            timeout client 90s
            timeout server 90s
            retries 3
            option redispatch
            option forwardfor
        frontend hub
            bind 127.0.0.1:\(frontPort)
            default_backend replicas
        backend replicas
            balance first
            option httpchk GET /api/health
            server b 127.0.0.1:\(ports[0]) check inter 500 fall 2 rise 1 maxconn 1000
            server a 127.0.0.1:\(fleet.port) check inter 500 fall 2 rise 1 maxconn 1000
            server c 127.0.0.1:\(ports[1]) check inter 500 fall 2 rise 1 maxconn 1000

        """.write(to: config, atomically: true, encoding: .utf8)
        let balancer = Process()
        balancer.executableURL = Self.haproxy
        balancer.arguments = ["-f", config.path, "-db"]
        balancer.standardOutput = FileHandle.nullDevice
        balancer.standardError = try FileHandle(forWritingTo: Self.emptyFile(fleet.directory.appendingPathComponent("haproxy.log")))
        try balancer.run()
        processes.append(balancer)
        #expect(try await fleet.eventually(20) { try await ReplicaEndToEndTests.status(front + "/api/health") == 200 }, "HAProxy never answered")

        // Two servers enrolled through the front (the enrollment line names it).
        let late = try await fleet.enroll("late-1")
        let web = try await fleet.enroll("web-1")
        _ = try fleet.startDaemon(web)
        let tree = try fleet.makeTree("site")
        let large = Data((0..<(2 * 1024 * 1024 + 77)).map { UInt8(truncatingIfNeeded: $0 &* 2_654_435_761 >> 13) })
        try large.write(to: tree.appendingPathComponent("large.bin"))
        #expect(
            try await fleet.cli.run(["destinations", "add", "nas", "--kind", "local", "--path", fleet.directory.appendingPathComponent("repo").path])
                .status == 0)
        for (name, server, schedule) in [("every-minute", "late-1", "minutely"), ("nightly", "web-1", "daily 03:00")] {
            let job = try await fleet.cli.run([
                "jobs", "add", name, "--server", server, "--kind", "full", "--path", tree.path, "--schedule", schedule, "--destination", "nas",
            ])
            #expect(job.status == 0, "\(job.stderr)")
        }

        // late-1's daemon is down at its next slot: each replica's scheduler finds the slot due 4 s
        // later and asks for it; when the daemon comes up it gets one request and makes one run.
        let created = Date()
        let slot = Date(timeIntervalSince1970: (created.timeIntervalSince1970 / 60).rounded(.up) * 60)
        try await Task.sleep(for: .seconds(slot.timeIntervalSince(Date()) + 12))
        _ = try fleet.startDaemon(late)
        let slotRuns: @Sendable () async throws -> [[String: Any]] = {
            let listed = try await fleet.cli.run(["runs", "list", "--job", "every-minute", "--json"]).object["runs"] as? [[String: Any]] ?? []
            return listed.filter { ($0["slot"] as? String).flatMap(Self.parse) == slot }
        }
        #expect(
            try await fleet.eventually(60) { try await slotRuns().contains { $0["status"] as? String == "succeeded" } },
            "the missed slot never ran")
        try await Task.sleep(for: .seconds(6))
        let runs = try await slotRuns()
        #expect(runs.count == 1, "the slot \(slot) ran \(runs.count) times: \(runs)")
        // The hub asked for it once: one replica's insert won, the others' were refused. Each
        // replica logs the slots it enqueued (`scheduler.slots=JOB@SLOT …`); under load the job may
        // also have missed the slot before this one (if its creation straddled a minute) or the
        // next one (if the run outlasted it) — each of those must have been asked for once too.
        var fired: [String: Int] = [:]
        for log in ["hub.log", "hub-b.log", "hub-c.log"] {
            let text = (try? String(contentsOf: fleet.directory.appendingPathComponent(log), encoding: .utf8)) ?? ""
            for line in text.split(separator: "\n") where line.contains("hub triggered due slots") {
                let slots = line.split(separator: " ").first { $0.hasPrefix("scheduler.slots=") }?.dropFirst("scheduler.slots=".count) ?? ""
                for slot in slots.split(separator: ",") { fired[String(slot), default: 0] += 1 }
            }
        }
        let asked = fired.filter { $0.key.hasSuffix("@" + slot.formatted(.iso8601)) }
        #expect(asked.count == 1 && asked.values.allSatisfy { $0 == 1 }, "the replicas' schedulers asked for the slot: \(fired)")
        #expect(fired.values.allSatisfy { $0 == 1 }, "a slot was asked for more than once: \(fired)")

        // B holds the agents' polls; kill it without warning. Each run-now through A must reach
        // web-1 within 30 s: its agent noticed, and HAProxy sent it to A or C.
        kill(replicaB.processIdentifier, SIGKILL)
        replicaB.waitUntilExit()
        let killed = Date()
        let run = try await fleet.cli.run(["jobs", "run", "nightly", "--json"])
        let runID = try #require(run.object["id"] as? String, "\(run.stdout)\(run.stderr)")
        var pickedUp: Date?
        _ = try await fleet.eventually(90) {
            let shown = try await fleet.cli.run(["runs", "show", runID, "--json"]).object
            if pickedUp == nil, (shown["status"] as? String) != "queued" { pickedUp = Date() }
            return (shown["status"] as? String) == "succeeded"
        }
        let back = try #require(pickedUp, "web-1 never took the run after B died").timeIntervalSince(killed)
        #expect(back < 30, "web-1 took \(back) s to come back through the other replicas")

        // A download through the front after the kill: browser and agent may land on A or C.
        var throughFront = fleet.cli
        throughFront.environment["MZPANEL_URL"] = front
        let client = try JSONSerialization.jsonObject(with: Data(contentsOf: fleet.directory.appendingPathComponent("client.json"))) as? [String: Any]
        throughFront.environment["MZPANEL_TOKEN"] = try #require(client?["token"] as? String)
        let snapshot = try #require(
            (try await throughFront.run(["snapshots", "list", "--job", "nightly", "--json"]).object["snapshots"] as? [[String: Any]])?.first?["id"]
                as? String)
        let browse = try await throughFront.run(["snapshots", "browse", snapshot, tree.path, "--json"])
        #expect(browse.status == 0, "\(browse.stdout)\(browse.stderr)")
        let downloaded = fleet.directory.appendingPathComponent("large.downloaded")
        let download = try await throughFront.run(["snapshots", "download", snapshot, tree.path + "/large.bin", "-o", downloaded.path])
        #expect(download.status == 0, "\(download.stdout)\(download.stderr)")
        #expect(try Data(contentsOf: downloaded) == large)
    }

    static func parse(_ text: String) -> Date? {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.date(from: text) ?? ISO8601DateFormatter().date(from: text)
    }

    static func emptyFile(_ url: URL) -> URL {
        FileManager.default.createFile(atPath: url.path, contents: nil)
        return url
    }
}
