import Foundation
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// Checks that tell the truth about the data: a check job reads the repository and fails when a
/// pack file is damaged (and that failure is alerted); the box pings a healthchecks-style URL at
/// each run; an email channel delivers through a real SMTP server.
@Suite("repository checks, pings and email end to end", .serialized, .enabled(if: Fleet.available, "mzpanel, mzpanel-agent or restic is missing"))
struct StatusChecksEndToEndTests {
    /// A helper process from Tests/Support that prints its port first and logs JSON lines.
    struct Recorder {
        let process: Process
        let port: Int
        let log: URL

        var lines: [[String: Any]] {
            ((try? String(contentsOf: log, encoding: .utf8)) ?? "").split(separator: "\n")
                .compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        }

        static func start(_ script: String, in directory: URL, arguments: [String] = []) async throws -> Recorder {
            let name = (script as NSString).deletingPathExtension
            let log = directory.appendingPathComponent("\(name).jsonl")
            let portFile = directory.appendingPathComponent("\(name).port")
            let path = Chromium.repository.appendingPathComponent("Tests/Support/" + script).path
            let process = try CommandRunner.startPython(path, [log.path] + arguments, log: portFile)
            for _ in 0..<100 {
                if let text = try? String(contentsOf: portFile, encoding: .utf8), let port = Int(text.split(separator: "\n").first ?? "") {
                    return Recorder(process: process, port: port, log: log)
                }
                try await Task.sleep(for: .milliseconds(100))
            }
            throw CocoaError(.featureUnsupported, userInfo: [NSLocalizedDescriptionKey: "\(script) did not start"])
        }
    }

    @Test("a damaged pack fails the check job and alerts; pings report start, success and failure")
    func damagedPackIsFoundAndAlerted() async throws {
        let fleet = try await Fleet(hubEnvironment: ["MZPANEL_NOTIFY_INTERVAL_SECONDS": "1"])
        defer { fleet.shutdown() }
        let receiver = try await Recorder.start("webhook_receiver.py", in: fleet.directory)
        defer { CommandRunner.stop(receiver.process) }
        let base = "http://127.0.0.1:\(receiver.port)"
        let agent = try await fleet.enroll("web-1")
        _ = try fleet.startDaemon(agent)
        let repos = fleet.directory.appendingPathComponent("repos")
        _ = try await fleet.cli.run(["destinations", "add", "here", "--kind", "local", "--path", repos.path])
        let tree = try fleet.makeTree("site", files: 60)
        let site = try await fleet.cli.run([
            "jobs", "add", "site", "--server", "web-1", "--kind", "full", "--path", tree.path, "--schedule", "daily",
            "--destination", "here", "--ping-url", base + "/ping/site",
        ])
        #expect(site.status == 0, "\(site.stderr)")
        let backup = try await fleet.cli.run(["jobs", "run", "site", "--wait", "--json"])
        #expect(backup.object["status"] as? String == "succeeded", "\(backup.stdout)\(backup.stderr)")
        let pinged = try await fleet.eventually(15) { receiver.lines.compactMap { $0["path"] as? String } == ["/ping/site/start", "/ping/site"] }
        #expect(pinged, "the box pinged start, then success: \(receiver.lines.compactMap { $0["path"] as? String })")

        let check = try await fleet.cli.run([
            "jobs", "add", "verify", "--server", "web-1", "--kind", "check", "--check-subsets", "1",
            "--schedule", "weekly", "--destination", "here", "--ping-url", base + "/ping/verify", "--json",
        ])
        #expect(check.status == 0, "\(check.stderr)")
        let checkID = try #require(check.object["id"] as? String)
        #expect(check.object["checkSubsets"] as? Int == 1)
        let healthy = try await fleet.cli.run(["jobs", "run", "verify", "--wait", "--json"])
        #expect(healthy.object["status"] as? String == "succeeded", "an intact repository passes: \(healthy.stdout)\(healthy.stderr)")
        #expect(healthy.object["snapshot"] == nil || healthy.object["snapshot"] is NSNull, "a check makes no snapshot")
        _ = try await fleet.api("POST", "/api/v1/notifications/channels", body: ["name": "ops-hook", "url": base + "/hook"])

        // Damage one pack file of the server's repository, as a failing disk would.
        let data = repos.appendingPathComponent(agent.serverID).appendingPathComponent("data")
        let packs = (FileManager.default.enumerator(atPath: data.path)?.allObjects as? [String] ?? [])
            .map { data.appendingPathComponent($0) }.filter {
                !$0.hasDirectoryPath && ((try? $0.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) ?? false)
            }
        let pack = try #require(packs.max { (size($0)) < (size($1)) }, "no pack files under \(data.path)")
        let handle = try FileHandle(forUpdating: pack)
        try handle.seek(toOffset: UInt64(size(pack) / 2))
        try handle.write(contentsOf: Data(repeating: 0x5A, count: 64))
        try handle.close()

        let damaged = try await fleet.cli.run(["jobs", "run", "verify", "--wait", "--json"])
        #expect(damaged.object["status"] as? String == "failed", "\(damaged.stdout)\(damaged.stderr)")
        let error = ((damaged.object["results"] as? [[String: Any]])?.first?["error"] as? String) ?? ""
        #expect(error.contains("restic check found errors"), "the run says what the check found: \(error)")
        let failPinged = try await fleet.eventually(15) {
            receiver.lines.compactMap { $0["path"] as? String }.filter { $0.hasPrefix("/ping/verify") }.suffix(2) == [
                "/ping/verify/start", "/ping/verify/fail",
            ]
        }
        #expect(failPinged, "\(receiver.lines.compactMap { $0["path"] as? String })")

        let alerted = try await fleet.eventually(30) {
            receiver.lines.contains { line in
                (line["headers"] as? [String: String])?["x-mzpanel-event"] == "job.failing"
                    && (line["body"] as? String)?.contains(checkID) == true
                    && (line["body"] as? String)?.contains("repository check verify") == true
            }
        }
        #expect(alerted, "no job.failing alert for the check job: \(receiver.lines.map { $0["path"] ?? "" })")
        let job = try await fleet.api("GET", "/api/v1/jobs/\(checkID)")
        #expect(job["health"] as? String == "failing")
    }

    @Test("an email channel made with the CLI sends its test message and the daily digest through a real SMTP server, once; both are audited")
    func emailChannel() async throws {
        let fleet = try await Fleet(hubEnvironment: ["MZPANEL_NOTIFY_INTERVAL_SECONDS": "1"])
        defer { fleet.shutdown() }
        let smtp = try await Recorder.start("smtp_receiver.py", in: fleet.directory)
        defer { CommandRunner.stop(smtp.process) }
        let hour = Calendar(identifier: .gregorian).dateComponents(in: TimeZone(identifier: "UTC")!, from: Date()).hour!
        // Through the CLI, as an operator would.
        let added = try await fleet.cli.run([
            "notifications", "add", "ops-mail", "--kind", "email", "--url", "smtp://127.0.0.1:\(smtp.port)",
            "--from", "backups@example.com", "--to", "ops@example.com", "--to", "lead@example.com",
            "--digest-hour", String(hour), "--json",
        ])
        #expect(added.status == 0, "\(added.stdout)\(added.stderr)")
        let listed = try await fleet.cli.run(["notifications", "list"])
        #expect(listed.stdout.contains("ops-mail") && listed.stdout.contains("daily digest at \(hour):00 UTC"), "\(listed.stdout)")
        let tested = try await fleet.cli.run(["notifications", "test", "ops-mail"])
        #expect(tested.status == 0, "\(tested.stderr)")
        let arrived = try await fleet.eventually(30) { smtp.lines.count >= 2 }
        #expect(arrived, "mail received: \(smtp.lines.count)")
        try await Task.sleep(for: .seconds(4))  // several more notifier passes: no second digest
        let mails = smtp.lines
        #expect(mails.count == 2, "one test message and one digest: \(mails.map { ($0["data"] as? String)?.prefix(200) ?? "" })")
        for mail in mails {
            #expect(mail["from"] as? String == "backups@example.com")
            #expect(Set(mail["to"] as? [String] ?? []) == ["ops@example.com", "lead@example.com"])
        }
        let texts = mails.compactMap { $0["data"] as? String }
        #expect(texts.contains { $0.contains("X-MZPanel-Event: test") && $0.contains("A test notification") })
        #expect(texts.contains { $0.contains("X-MZPanel-Event: digest") && $0.contains("Daily backup digest") })
        let deliveries = try await fleet.cli.run(["notifications", "deliveries", "--json"])
        let states = (deliveries.object["deliveries"] as? [[String: Any]] ?? []).map { $0["deliveredAt"] != nil && !($0["deliveredAt"] is NSNull) }
        #expect(states.count == 2 && states.allSatisfy { $0 }, "both recorded as delivered: \(deliveries.stdout)")
        let audit = try await fleet.cli.run(["audit", "--json"])
        let actions = (audit.object["events"] as? [[String: Any]] ?? []).compactMap { $0["action"] as? String }
        #expect(
            actions.contains { $0.hasPrefix("Add a notification channel") } && actions.contains { $0.hasPrefix("Send a test notification") },
            "\(actions)")
    }

    func size(_ url: URL) -> Int {
        ((try? FileManager.default.attributesOfItem(atPath: url.path))?[.size] as? NSNumber)?.intValue ?? 0
    }
}
