import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Concurrency caps across servers with a real hub, two agent daemons, the CLI and restic: a
/// destination capped to one run at a time makes the second run wait for its slot (shown with
/// its place in line) and then run; a holder that crashes frees its slot when its claim expires.
@Suite("concurrency caps and windows, end to end", .serialized)
struct ConcurrencyEndToEndTests {
    @Test(
        "two servers capped to one run per destination: one waits (position 1) then runs, both succeed; a crashed holder's slot expires",
        .enabled(if: Fleet.available, "mzpanel, mzpanel-agent or restic is missing"))
    func destinationCapAcrossServers() async throws {
        let fleet = try await Fleet(
            plan: "plus", hubEnvironment: ["MZPANEL_AGENT_SLOT_POLL": "1", "MZPANEL_AGENT_SLOT_RENEW": "2", "MZPANEL_SLOT_LIFETIME": "8"])
        defer { fleet.shutdown() }
        let web1 = try await fleet.enroll("web-1")
        let web2 = try await fleet.enroll("web-2")
        let repositories = fleet.directory.appendingPathComponent("repositories")
        let added = try await fleet.cli.run(
            ["destinations", "add", "shared", "--kind", "local", "--path", repositories.path, "--max-concurrent-runs", "1"])
        #expect(added.status == 0 && added.stdout.contains("At most 1 run at once"), "\(added.stdout)\(added.stderr)")
        let refused = try await fleet.cli.run(["destinations", "edit", "shared", "--max-concurrent-runs", "5000"])
        #expect(refused.status != 0 && refused.stderr.contains("is not a cap on concurrent runs"), "\(refused.stderr)")
        let tree = try fleet.makeTree("site")
        for (name, server) in [("one", "web-1"), ("two", "web-2")] {
            // The before hook keeps the slot busy long enough for the other run to queue behind it.
            let job = try await fleet.cli.run([
                "jobs", "add", name, "--server", server, "--kind", "full", "--path", tree.path, "--schedule", "daily 03:00",
                "--destination", "shared", "--keep-last", "3", "--before", "sleep 6", "--window", "01:00-05:00", "--spread", "30m",
            ])
            #expect(job.status == 0 && job.stdout.contains("Window") && job.stdout.contains("Spread"), "\(job.stdout)\(job.stderr)")
        }
        let badWindow = try await fleet.cli.run(["jobs", "edit", "one", "--window", "25:00-05:00"])
        #expect(badWindow.status != 0 && badWindow.stderr.contains("\"25:00\" is not a time of day"), "\(badWindow.stderr)")
        // The preview shows the shifted starts (the CLI offline and the API agree).
        let jobOne = try await fleet.api("GET", "/api/v1/jobs/one")
        let oneID = try #require(jobOne["id"] as? String)
        let preview = try await fleet.api(
            "POST", "/api/v1/schedules/preview",
            body: [
                "schedule": "daily 23:00", "window": "01:00-05:00", "spread": "30m", "job": oneID, "count": 2,
                "from": "2026-06-01T00:00:00.000Z",
            ])
        let offline = try await fleet.cli.run([
            "schedule", "preview", "daily 23:00", "--window", "01:00-05:00", "--spread", "30m", "--job", oneID, "--count", "2",
            "--from", "2026-06-01T00:00:00Z", "--json",
        ])
        #expect((preview["next"] as? [String])?.count == 2, "\(preview)")
        #expect(offline.object["next"] as? [String] == preview["next"] as? [String], "\(offline.stdout)")
        #expect((preview["next"] as? [String])?.first?.hasPrefix("2026-06-01T01:") == true, "held for the window: \(preview)")

        _ = try fleet.startDaemon(web1)
        _ = try fleet.startDaemon(web2)
        // Run now is never held by the window; both at once: one holds the slot, the other waits first in line.
        let first = try await fleet.api("POST", "/api/v1/jobs/one/run")
        let second = try await fleet.api("POST", "/api/v1/jobs/two/run")
        let runIDs = [try #require(first["id"] as? String, "\(first)"), try #require(second["id"] as? String, "\(second)")]
        var waiting: [String: Any]?
        let queued = try await fleet.eventually(60) {
            for id in runIDs {
                let run = try await fleet.api("GET", "/api/v1/runs/\(id)")
                let progress = run["progress"] as? [String: Any]
                if let wait = progress?["waiting"] as? [String: Any], wait["reason"] as? String == "slot" {
                    waiting = run
                    return true
                }
            }
            return false
        }
        #expect(queued, "one run showed waiting for slot")
        let wait = (waiting?["progress"] as? [String: Any])?["waiting"] as? [String: Any]
        #expect(wait?["position"] as? Int == 1, "\(String(describing: waiting))")
        #expect(((waiting?["progress"] as? [String: Any])?["phase"] as? String)?.contains("waiting for slot (position 1") == true)
        // The CLI says so too (the holder's before hook keeps it busy for 6 s).
        let shown = try await fleet.cli.run(["runs", "show", try #require(waiting?["id"] as? String)])
        #expect(shown.stdout.contains("waiting for slot (position 1"), "\(shown.stdout)\(shown.stderr)")
        let finished = try await fleet.eventually(120) {
            var done = 0
            for id in runIDs where (try await fleet.api("GET", "/api/v1/runs/\(id)")["status"] as? String) == "succeeded" { done += 1 }
            return done == 2
        }
        #expect(finished, "both runs succeeded")
        // They never overlapped: the one that waited started its work after the other had finished.
        let runs = try await runIDs.asyncMap { try await fleet.api("GET", "/api/v1/runs/\($0)") }
        let log = (waiting?["id"] as? String).flatMap { id in runs.first { $0["id"] as? String == id } }?["logExcerpt"] as? String ?? ""
        #expect(log.contains("waiting for slot") && log.contains("granted"), "\(log)")

        // A crashed holder: its process is killed while it holds the slot; the slot frees when the claim expires.
        let crashing = try #require(try await fleet.api("POST", "/api/v1/jobs/one/run")["id"] as? String)
        let running = web1.stateDir.appendingPathComponent("running/\(crashing).json")
        var pid: Int32 = 0
        let holding = try await fleet.eventually(60) {
            guard let data = try? Data(contentsOf: running),
                let entry = try? JSONSerialization.jsonObject(with: data) as? [String: Any], let found = entry["pid"] as? Int
            else { return false }
            pid = Int32(found)
            let slots = try await fleet.sql("SELECT count(*) FROM destination_slots WHERE run_id = '\(crashing)' AND holding = 1")
            return slots == "1"
        }
        #expect(holding && pid > 0, "the run holds the slot")
        kill(pid, SIGKILL)
        let started = Date()
        let next = try #require(try await fleet.api("POST", "/api/v1/jobs/two/run")["id"] as? String)
        let recovered = try await fleet.eventually(90) {
            try await fleet.api("GET", "/api/v1/runs/\(next)")["status"] as? String == "succeeded"
        }
        #expect(recovered, "the waiting run got the crashed holder's slot and succeeded")
        #expect(Date().timeIntervalSince(started) >= 5, "it waited for the claim to expire")
        let nextLog = try await fleet.api("GET", "/api/v1/runs/\(next)")["logExcerpt"] as? String ?? ""
        #expect(nextLog.contains("waiting for slot"), "\(nextLog)")

        // A scheduled slot outside its window waits (waiting for window); a person's run now of the
        // same job is not held by it and runs beside it.
        var utc = Calendar(identifier: .gregorian)
        utc.timeZone = TimeZone(identifier: "UTC")!
        let hour = utc.component(.hour, from: Date())
        let two = { (value: Int) in (value < 10 ? "0" : "") + String(value) }
        let repositoriesFree = fleet.directory.appendingPathComponent("free")
        _ = try await fleet.cli.run(["destinations", "add", "free", "--kind", "local", "--path", repositoriesFree.path])
        let three = try await fleet.cli.run([
            "jobs", "add", "three", "--server", "web-1", "--kind", "full", "--path", tree.path, "--schedule", "daily \(two(hour)):00",
            "--tz", "UTC", "--destination", "free", "--keep-last", "3", "--window", "\(two((hour + 2) % 24)):00-\(two((hour + 3) % 24)):00",
        ])
        #expect(three.status == 0, "\(three.stdout)\(three.stderr)")
        let threeID = try #require(try await fleet.api("GET", "/api/v1/jobs/three")["id"] as? String)
        let jobsFile = web1.stateDir.appendingPathComponent("jobs.json")
        #expect(try await fleet.eventually(30) { ((try? String(contentsOf: jobsFile, encoding: .utf8)) ?? "").contains(threeID) })
        let slot = utc.date(bySettingHour: hour, minute: 0, second: 0, of: Date())!
        let formatter = ISO8601DateFormatter()
        let scheduled = try web1.runner.start(
            ["run", threeID, "--trigger", "hub", "--slot", formatter.string(from: slot), "--state-dir", web1.stateDir.path],
            log: fleet.directory.appendingPathComponent("scheduled-three.log"))
        defer { if scheduled.isRunning { scheduled.terminate() } }
        var held = false
        _ = try await fleet.eventually(60) {
            let page = try await fleet.api("GET", "/api/v1/runs?job=\(threeID)")
            held = (page["runs"] as? [[String: Any]] ?? []).contains {
                (($0["progress"] as? [String: Any])?["waiting"] as? [String: Any])?["reason"] as? String == "window"
            }
            return held
        }
        #expect(held, "the scheduled run waits for its window")
        let now = try #require(try await fleet.api("POST", "/api/v1/jobs/three/run")["id"] as? String)
        let besides = try await fleet.eventually(90) {
            try await fleet.api("GET", "/api/v1/runs/\(now)")["status"] as? String == "succeeded"
        }
        #expect(besides, "run now ran while the scheduled run waited for its window")
        #expect(scheduled.isRunning, "the scheduled run still waits")
    }
}

extension Array {
    fileprivate func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var result: [T] = []
        for element in self { result.append(try await transform(element)) }
        return result
    }
}

@Suite("windows and spread in trust mode, end to end", .serialized)
struct SignedWindowEndToEndTests {
    @Test(
        "the window and spread are signed with the job; a window changed in the hub's database is refused on the box",
        .enabled(if: Fleet.available, "mzpanel, mzpanel-agent or restic is missing"))
    func windowIsSigned() async throws {
        let secrets = try OffsiteEndToEndTests.Secrets()
        let vault = secrets.vaultArguments
        let fleet = try await Fleet(plan: "plus")
        defer { fleet.shutdown() }
        let first = try await fleet.enroll("web-1")
        try await fleet.trust(first, vault: vault)
        let agent = try await fleet.enroll("web-2")  // pins the account key
        let repositories = fleet.directory.appendingPathComponent("repositories")
        _ = try await fleet.cli.run(["destinations", "add", "here", "--kind", "local", "--path", repositories.path] + vault)
        let tree = try fleet.makeTree("site")
        let added = try await fleet.cli.run(
            [
                "jobs", "add", "nightly", "--server", "web-2", "--kind", "full", "--path", tree.path, "--schedule", "daily",
                "--destination", "here", "--keep-last", "5", "--window", "01:00-05:00", "--spread", "20m",
            ] + vault)
        #expect(added.stdout.contains("Signed job nightly"), "\(added.stdout)\(added.stderr)")
        let edited = try await fleet.cli.run(["jobs", "edit", "nightly", "--spread", "10m"] + vault)
        #expect(edited.stdout.contains("Signed job nightly"), "\(edited.stdout)\(edited.stderr)")
        let job = try await fleet.api("GET", "/api/v1/jobs/nightly")
        let jobID = try #require(job["id"] as? String)
        #expect(job["manifestState"] as? String == "signed" && job["spreadSeconds"] as? Int == 600, "\(job)")
        _ = try fleet.startDaemon(agent)
        let ran = try await fleet.cli.run(["jobs", "run", "nightly", "--wait", "--json"]).object
        #expect(ran["status"] as? String == "succeeded", "run now is not held by the window: \(ran)")
        // The hub widens the window on its own: the box refuses the job.
        try await fleet.tamper("UPDATE jobs SET backup_window = '00:00-23:59' WHERE id = '\(jobID)'")
        #expect(try await fleet.api("GET", "/api/v1/jobs/nightly")["manifestState"] as? String == "changed")
        _ = try await fleet.api("PATCH", "/api/v1/jobs/nightly", body: ["staleAfter": 100_000])
        let jobs = agent.stateDir.appendingPathComponent("jobs.json")
        #expect(try await fleet.eventually(30) { ((try? String(contentsOf: jobs, encoding: .utf8)) ?? "").contains("23:59") })
        let refused = try await fleet.cli.run(["jobs", "run", "nightly", "--wait", "--json"]).object
        let errors = ((refused["results"] as? [[String: Any]])?.compactMap { $0["error"] as? String } ?? []).joined()
        #expect(refused["status"] as? String == "failed" && errors.contains("(window)"), "\(refused)")
    }
}
