import Crypto
import Foundation
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// Alerts that tell the truth: a missed slot is told once (through a receiver that is down at
/// first, so the hub retries), its recovery once; signatures verify; /metrics reflects the run.
@Suite("notifications and metrics end to end", .serialized, .enabled(if: Fleet.available, "mzpanel, mzpanel-agent or restic is missing"))
struct NotificationEndToEndTests {
    struct Receiver {
        let process: Process
        let url: String
        let log: URL

        var requests: [[String: Any]] {
            ((try? String(contentsOf: log, encoding: .utf8)) ?? "").split(separator: "\n")
                .compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        }
    }

    /// Tests/Support/webhook_receiver.py: refuses the first `failFirst` posts; holds the answer to the first for `holdFirst` seconds.
    static func startReceiver(in directory: URL, failFirst: Int = 0, holdFirst: Int = 0) async throws -> Receiver {
        let log = directory.appendingPathComponent("webhook.jsonl")
        let portFile = directory.appendingPathComponent("webhook.port")
        let script = Chromium.repository.appendingPathComponent("Tests/Support/webhook_receiver.py").path
        let process = try CommandRunner.startPython(
            script, [log.path, "--fail-first", String(failFirst), "--hold-first", String(holdFirst)], log: portFile)
        for _ in 0..<100 {
            if let text = try? String(contentsOf: portFile, encoding: .utf8), let port = Int(text.trimmingCharacters(in: .whitespacesAndNewlines)) {
                return Receiver(process: process, url: "http://127.0.0.1:\(port)/hook", log: log)
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw CocoaError(.featureUnsupported, userInfo: [NSLocalizedDescriptionKey: "the webhook receiver did not start"])
    }

    /// Keeps the agent's link alive without running anything: a server whose timers stopped.
    func heartbeat(_ fleet: Fleet, _ agent: Fleet.Agent) async throws {
        let credential = try String(contentsOf: agent.stateDir.appendingPathComponent("credential"), encoding: .utf8).trimmingCharacters(
            in: .whitespacesAndNewlines)
        var request = URLRequest(url: URL(string: fleet.url + "/api/agent/v1/commands?wait=0")!)
        request.setValue("Agent " + credential, forHTTPHeaderField: "Authorization")
        _ = try? await URLSession.shared.data(for: request)
    }

    func delivered(_ receiver: Receiver, event: String) -> [[String: Any]] {
        receiver.requests.filter { ($0["status"] as? Int) == 204 && ($0["headers"] as? [String: String])?["x-mzpanel-event"] == event }
    }

    @Test("a missed slot alerts once (retried past a receiver that is down), the recovery once; signatures verify; /metrics shows the run")
    func missedAndRecovered() async throws {
        let fleet = try await Fleet(hubEnvironment: ["MZPANEL_MISSED_GRACE_SECONDS": "5", "MZPANEL_NOTIFY_INTERVAL_SECONDS": "1"])
        defer { fleet.shutdown() }
        let receiver = try await Self.startReceiver(in: fleet.directory, failFirst: 2)
        defer { CommandRunner.stop(receiver.process) }
        let agent = try await fleet.enroll("web-1")
        _ = try await fleet.cli.run([
            "destinations", "add", "here", "--kind", "local", "--path", fleet.directory.appendingPathComponent("repos").path,
        ])
        let tree = try fleet.makeTree("site")
        let job = try await fleet.cli.run([
            "jobs", "add", "tick", "--server", "web-1", "--kind", "full", "--path", tree.path,
            "--schedule", "minutely", "--keep-last", "3", "--destination", "here", "--json",
        ])
        #expect(job.status == 0, "\(job.stderr)")
        let jobID = try #require(job.object["id"] as? String)
        let channel = try await fleet.api("POST", "/api/v1/notifications/channels", body: ["name": "ops-hook", "url": receiver.url])
        let secret = try #require(channel["secret"] as? String, "\(channel)")

        // The agent stays connected but runs nothing: the next minute's slot passes (+5 s grace).
        let missed = try await fleet.eventually(150) {
            try await heartbeat(fleet, agent)
            return !delivered(receiver, event: "job.missed").isEmpty
        }
        #expect(missed, "no job.missed notification arrived: \(receiver.requests)")
        let attempts = receiver.requests.filter { ($0["headers"] as? [String: String])?["x-mzpanel-event"] == "job.missed" }
        #expect(attempts.count == 3, "two refused attempts, then delivered: \(attempts.map { $0["status"] ?? "" })")
        #expect(Set(attempts.compactMap { ($0["headers"] as? [String: String])?["x-mzpanel-delivery"] }).count == 1, "retries of one delivery")

        // The signature verifies with the channel's secret, as docs/api.md describes.
        let first = try #require(delivered(receiver, event: "job.missed").first)
        let headers = try #require(first["headers"] as? [String: String])
        let body = try #require(first["body"] as? String)
        let parts = Dictionary(
            uniqueKeysWithValues: (headers["x-mzpanel-signature"] ?? "").split(separator: ",").map {
                let pair = $0.split(separator: "=", maxSplits: 1)
                return (String(pair[0]), String(pair.count > 1 ? pair[1] : ""))
            })
        let timestamp = try #require(parts["t"])
        let expected = HMAC<SHA256>.authenticationCode(for: Data((timestamp + "." + body).utf8), using: SymmetricKey(data: Data(secret.utf8)))
            .map { String(format: "%02x", $0) }.joined()
        #expect(parts["v1"] == expected)
        let payload = try #require(try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any])
        #expect((payload["job"] as? [String: Any])?["id"] as? String == jobID)
        #expect(payload["event"] as? String == "job.missed")

        // Runs resume: one recovery, and no second alert while the minutely slots settle.
        _ = try fleet.startDaemon(agent)
        let recovered = try await fleet.eventually(150) { !delivered(receiver, event: "job.recovered").isEmpty }
        #expect(
            recovered,
            "no job.recovered notification arrived: \(receiver.requests.map { ($0["headers"] as? [String: String])?["x-mzpanel-event"] ?? "" })")
        try await Task.sleep(for: .seconds(8))
        #expect(delivered(receiver, event: "job.missed").count == 1)
        #expect(delivered(receiver, event: "job.recovered").count == 1)

        // /metrics shows the run, in a format Prometheus's own parser reads.
        let config = try JSONSerialization.jsonObject(with: Data(contentsOf: fleet.directory.appendingPathComponent("client.json"))) as? [String: Any]
        let token = try #require(config?["token"] as? String)
        let parse = """
            import sys, urllib.request
            from prometheus_client.parser import text_string_to_metric_families
            request = urllib.request.Request(sys.argv[1] + "/metrics", headers={"Authorization": "Bearer " + sys.stdin.read().strip()})
            text = urllib.request.urlopen(request).read().decode()
            for family in text_string_to_metric_families(text):
                for sample in family.samples:
                    print(sample.name, sample.labels.get("job", ""), sample.labels.get("status", sample.labels.get("state", "")), float(sample.value))
            """
        let venvPython =
            ProcessInfo.processInfo.environment["MZPANEL_TEST_VENV"].map { $0 + "/bin/python3" }
            ?? Chromium.repository.appendingPathComponent(".build-venv/bin/python3").path
        let parsed = try await CommandRunner(binary: URL(fileURLWithPath: venvPython), environment: ProcessInfo.processInfo.environment)
            .run(["-c", parse, fleet.url], stdin: token)
        #expect(parsed.status == 0, "\(parsed.stderr)")
        let lines = parsed.stdout.split(separator: "\n").map(String.init)
        #expect(lines.contains { $0.hasPrefix("mzpanel_job_last_run_status tick succeeded 1.0") }, "\(parsed.stdout)")
        #expect(lines.contains { $0.hasPrefix("mzpanel_job_last_success_time_seconds tick") })
        #expect(lines.contains { $0.hasPrefix("mzpanel_agents_connected") && $0.hasSuffix(" 1.0") }, "\(parsed.stdout)")
    }
}
