import Foundation
import Testing

/// Restore drills end to end (docs/operations.md, "Restore drills"): a real hub, agent and restic
/// restore a random sample into a scratch directory, check it and remove it; a damaged pack fails
/// the drill and the run names the damaged file.
@Suite("restore drills end to end", .serialized, .enabled(if: Fleet.available, "mzpanel, mzpanel-agent or restic is missing"))
struct DrillEndToEndTests {
    /// A tree of small text files and one large file of pseudo-random bytes (its own data pack).
    static func tree(in directory: URL) throws -> URL {
        let root = directory.appendingPathComponent("site")
        let manager = FileManager.default
        try manager.createDirectory(at: root.appendingPathComponent("pages"), withIntermediateDirectories: true)
        for index in 0..<30 { try Data("page \(index)\n".utf8).write(to: root.appendingPathComponent("pages/p\(index).html")) }
        var large = Data(count: 6 * 1024 * 1024)
        large.withUnsafeMutableBytes { buffer in
            var state: UInt64 = 0x2545F4914F6CDD1D
            for index in 0..<buffer.count {
                state = state &* 6364136223846793005 &+ 1442695040888963407
                buffer[index] = UInt8(truncatingIfNeeded: state >> 33)
            }
        }
        try large.write(to: root.appendingPathComponent("archive.bin"))
        return root
    }

    /// A fleet with one agent, a local destination and a job over the tree, run once.
    func backedUp() async throws -> (Fleet, Fleet.Agent, URL, URL) {
        let fleet = try await Fleet()
        let agent = try await fleet.enroll("web-1")
        _ = try fleet.startDaemon(agent)
        let repos = fleet.directory.appendingPathComponent("repos")
        _ = try await fleet.cli.run(["destinations", "add", "here", "--kind", "local", "--path", repos.path])
        let root = try Self.tree(in: fleet.directory)
        let job = try await fleet.cli.run([
            "jobs", "add", "site", "--server", "web-1", "--kind", "full", "--path", root.path, "--schedule", "daily", "--destination", "here",
        ])
        try #require(job.status == 0, "\(job.stderr)")
        let run = try await fleet.cli.run(["jobs", "run", "site", "--wait", "--json"])
        try #require(run.object["status"] as? String == "succeeded", "\(run.stdout)\(run.stderr)")
        return (fleet, agent, root, repos)
    }

    static func evidence(_ run: [String: Any]) -> [String: Any] {
        ((run["results"] as? [[String: Any]])?.first?["drill"] as? [String: Any]) ?? [:]
    }

    static func checks(_ run: [String: Any]) -> [[String: Any]] { evidence(run)["checks"] as? [[String: Any]] ?? [] }

    @Test("a drill restores a sample, checks it against the snapshot and the source, and leaves nothing behind")
    func drillPasses() async throws {
        let (fleet, agent, _, _) = try await backedUp()
        defer { fleet.shutdown() }
        let drill = try await fleet.cli.run(["jobs", "drill", "site", "--sample", "100%", "--wait", "--json"])
        #expect(drill.status == 0, "\(drill.stdout)\(drill.stderr)")
        #expect(drill.object["trigger"] as? String == "drill")
        #expect(drill.object["status"] as? String == "succeeded")
        let evidence = Self.evidence(drill.object)
        #expect(evidence["snapshotFiles"] as? Int == 31, "\(evidence)")
        #expect(evidence["restoredFiles"] as? Int == 31, "\(evidence)")
        #expect((evidence["restoredBytes"] as? Int ?? 0) > 6 * 1024 * 1024)
        let summary = Self.checks(drill.object).first { $0["name"] as? String == "files" }
        #expect(summary?["passed"] as? Bool == true, "\(Self.checks(drill.object))")
        #expect(
            (summary?["detail"] as? String)?.contains("31 compared byte for byte with the unchanged source") == true, "\(String(describing: summary))"
        )
        // The scratch directory is gone.
        let scratch = agent.stateDir.appendingPathComponent("drills")
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: scratch.path)) ?? []).isEmpty)

        // A sample of 5 files restores 5 files; the human output names the estimate.
        let small = try await fleet.cli.run(["jobs", "drill", "site", "--sample", "5", "--wait"])
        #expect(small.status == 0, "\(small.stdout)\(small.stderr)")
        #expect(small.stdout.contains("Restored 5 of 31 files"), "\(small.stdout)")
        #expect(small.stdout.contains("[pass] files"), "\(small.stdout)")

        // The drill is a run of the job, listed with its trigger; the job's newest backup run stays the backup.
        let shown = try await fleet.cli.run(["jobs", "show", "site", "--json"])
        #expect((shown.object["lastRun"] as? [String: Any])?["id"] as? String != drill.object["id"] as? String)
        #expect((shown.object["lastDrill"] as? [String: Any])?["status"] as? String == "succeeded", "\(shown.stdout)")
        #expect(shown.object["provenAt"] as? String != nil, "\(shown.stdout)")
        #expect(shown.object["health"] as? String == "ok", "no drill setting: health as before")
        let described = try await fleet.cli.run(["jobs", "show", "site"])
        #expect(described.stdout.contains("Proven restorable") && described.stdout.contains("Last drill"), "\(described.stdout)")
    }

    @Test("a damaged pack fails the drill, and the run names the damaged file")
    func damagedPackFails() async throws {
        let (fleet, agent, root, repos) = try await backedUp()
        defer { fleet.shutdown() }
        // The largest file under data/ is the pack holding archive.bin's blobs.
        let data = repos.appendingPathComponent(agent.serverID).appendingPathComponent("data")
        let packs = try #require(FileManager.default.enumerator(atPath: data.path)?.allObjects as? [String])
        let largest = try #require(
            packs.map { data.appendingPathComponent($0).path }.filter {
                (try? FileManager.default.attributesOfItem(atPath: $0)[.type] as? FileAttributeType) == .typeRegular
            }
            .max { Self.size($0) < Self.size($1) })
        #expect(Self.size(largest) > 5 * 1024 * 1024)
        chmod(largest, 0o600)
        let handle = try #require(FileHandle(forUpdatingAtPath: largest))
        // The middle of the pack is inside one of archive.bin's large chunks (the small files' blobs are a few bytes each).
        try handle.seek(toOffset: UInt64(Self.size(largest) / 2))
        try handle.write(contentsOf: Data(repeating: 0x5A, count: 512))
        try handle.close()

        let drill = try await fleet.cli.run(["jobs", "drill", "site", "--sample", "100%", "--wait", "--json"])
        #expect(drill.status == 1, "\(drill.stdout)\(drill.stderr)")
        #expect(drill.object["status"] as? String == "failed")
        let damaged = root.path + "/archive.bin"
        let failed = Self.checks(drill.object).filter { $0["passed"] as? Bool == false }
        #expect(failed.contains { ($0["name"] as? String) == "file \(damaged)" }, "\(failed)")
        let error = (drill.object["results"] as? [[String: Any]])?.first?["error"] as? String ?? ""
        #expect(error.contains(damaged), "\(error)")
        #expect(!failed.contains { ($0["name"] as? String)?.contains("/pages/") == true }, "only the damaged file fails: \(failed)")
        let scratch = agent.stateDir.appendingPathComponent("drills")
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: scratch.path)) ?? []).isEmpty, "removed on failure too")
    }

    @Test("drill inputs are checked with clear messages")
    func drillInputs() async throws {
        let (fleet, _, _, _) = try await backedUp()
        defer { fleet.shutdown() }
        let badSample = try await fleet.cli.run(["jobs", "drill", "site", "--sample", "150%"])
        #expect(badSample.status != 0)
        #expect(badSample.stderr.contains("percentage above 0 and at most 100"), "\(badSample.stderr)")
        let badSQL = try await fleet.cli.run(["jobs", "drill", "site", "--sql", "DELETE FROM orders >= 1"])
        #expect(badSQL.status != 0)
        #expect(badSQL.stderr.contains("is not a SELECT query"), "\(badSQL.stderr)")
        let badServer = try await fleet.cli.run(["jobs", "drill", "site", "--server", "nowhere"])
        #expect(badServer.stderr.contains("no server \"nowhere\""), "\(badServer.stderr)")
        let badFrequency = try await fleet.cli.run(["jobs", "edit", "site", "--drill", "hourly"])
        #expect(badFrequency.status != 0)
        #expect(badFrequency.stderr.contains("use daily, weekly or off"), "\(badFrequency.stderr)")
        let sampleAlone = try await fleet.cli.run(["jobs", "edit", "site", "--drill-sample", "10"])
        #expect(sampleAlone.stderr.contains("set drill to daily or weekly"), "\(sampleAlone.stderr)")
        let weekly = try await fleet.cli.run(["jobs", "edit", "site", "--drill", "weekly", "--drill-sample", "2%", "--json"])
        #expect(weekly.status == 0, "\(weekly.stderr)")
        let setting = weekly.object["drill"] as? [String: Any]
        #expect(setting?["frequency"] as? String == "weekly")
        #expect((setting?["sample"] as? [String: Any])?["percent"] as? Double == 2)
        let off = try await fleet.cli.run(["jobs", "edit", "site", "--drill", "off", "--json"])
        #expect(off.object["drill"] == nil, "\(off.stdout)")
    }

    static func size(_ path: String) -> Int64 { ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber)?.int64Value ?? 0 }
}
