import Foundation
import Testing

/// The load generator (`scripts/bench-agents`, docs/benchmarks.md) at a small size: 200 simulated
/// agents enroll, stay connected as the daemon does, report runs, and every figure comes back.
/// The large runs are benchmarks, not tests.
@Suite("load generator smoke test", .serialized)
struct LoadGeneratorSmokeTests {
    @Test("200 simulated agents connect, sync, poll and report runs without an error", .enabled(if: Fleet.available))
    func twoHundredAgents() async throws {
        let binary = try #require(CommandRunner.locateBinary("mzpanel"))
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        var environment = ProcessInfo.processInfo.environment
        for key in ["MZPANEL_URL", "MZPANEL_TOKEN", "MZPANEL_DATABASE_URL", "MZPANEL_BENCH_DATABASE_URL"] { environment.removeValue(forKey: key) }
        environment["MZPANEL_BENCH_HOUR_SECONDS"] = "20"
        environment["MZPANEL_BENCH_RAMP_SECONDS"] = "5"
        let bench = CommandRunner(binary: URL(fileURLWithPath: "/bin/bash"), environment: environment)
        let result = try await bench.run([
            root.appendingPathComponent("scripts/bench-agents").path, "200", "20", binary.deletingLastPathComponent().path,
        ])
        #expect(result.status == 0, "\(result.stderr)")
        let figures = result.object
        #expect(figures["agents"] as? Int == 200, "\(result.stdout)\(result.stderr)")
        #expect((figures["errors"] as? [String: Any])?.isEmpty == true, "\(figures["errors"] ?? "")")
        #expect((figures["polls"] as? Int ?? 0) >= 200, "every agent held a long-poll")
        #expect((figures["runs_reported"] as? Int ?? 0) >= 100, "most agents reported a run within the simulated hour")
        // Every agent's first job sync falls in the 5 s connect ramp, counted apart from the steady figures.
        let connecting = figures["agent_requests_while_connecting"] as? [String: [String: Any]] ?? [:]
        #expect(connecting["jobs"]?["count"] as? Int ?? 0 >= 200, "each agent synced its jobs while connecting")
        let requests = figures["agent_requests"] as? [String: [String: Any]] ?? [:]
        #expect(requests["events"]?["p99_ms"] is Double, "event batches were timed")
        let person = figures["person"] as? [String: [String: Any]] ?? [:]
        for name in ["baseline: GET /api/v1/servers", "with agents: GET /api/v1/servers", "with agents: GET /backups"] {
            #expect((person[name]?["count"] as? Int ?? 0) > 0, "\(name) was measured")
        }
        #expect((figures["hub"] as? [String: Any])?["peak_rss_mib"] is Double, "the hub's memory was read")
    }
}
