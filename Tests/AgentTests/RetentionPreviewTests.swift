import BackupCore
import Foundation
import ResticKit
import Testing

@testable import Agent

/// The hub's retention preview (`RetentionSimulator`) against restic's own `forget` on the same
/// snapshots: 40 snapshots spread over a month, a year and ISO-week boundary, two in one hour.
@Suite(
    "Retention preview matches restic forget (real restic)", .enabled(if: ResticPresence.usable, "restic is not installed (apt-get install restic)"))
struct RetentionPreviewTests {
    @Test("for several policies the preview equals forget --dry-run, and a real forget removes exactly the previewed snapshots")
    func previewMatchesForget() async throws {
        try await withTemporaryDirectory { root in
            let restic = try await Restic.detect()
            try Fixtures.makeTree(at: root + "/site", files: 3)
            try Data("pw".utf8).write(to: URL(fileURLWithPath: root + "/pw"))
            // TZ=UTC: restic reads --time and counts days in UTC, as the preview is told to.
            let repository = ResticRepository(
                location: root + "/repo", environment: ["RESTIC_PASSWORD_FILE": root + "/pw", "RESTIC_CACHE_DIR": root + "/cache", "TZ": "UTC"])
            try await restic.initialize(repository)
            let formatter = DateFormatter()
            formatter.locale = Locale(identifier: "en_US_POSIX")
            formatter.timeZone = TimeZone(identifier: "UTC")
            formatter.dateFormat = "yyyy-MM-dd HH:mm:ss"
            let start = try #require(formatter.date(from: "2025-12-20 05:10:00"))
            var times = (0..<38).map { start.addingTimeInterval(Double($0) * 13 * 3600 + Double($0 % 3) * 600) }
            times += [times[20].addingTimeInterval(60), times[37].addingTimeInterval(120)]  // two in one hour
            for time in times {
                let result = try runProgram(
                    restic.executablePath,
                    [
                        "-r", repository.location, "backup", "--quiet", "--host", "srv_x", "--tag", "mzpanel,job=job_x", "--time",
                        formatter.string(from: time), root + "/site",
                    ], environment: repository.environment.merging(["PATH": "/usr/bin:/bin", "HOME": root]) { $1 })
                #expect(result.status == 0, "\(result.output)")
            }
            let snapshots = try await restic.snapshots(repository, tags: ["job=job_x"], host: "srv_x")
            try #require(snapshots.count == times.count)
            let utc = try #require(TimeZone(identifier: "UTC"))
            func preview(_ policy: RetentionPolicy) -> Set<String> {
                let decisions = RetentionSimulator.apply(policy, to: snapshots.map(\.time), timeZone: utc)
                return Set(zip(snapshots, decisions).filter { !$0.1.keep }.map(\.0.id))
            }
            let policies = [
                RetentionPolicy(keepDaily: 3),
                RetentionPolicy(keepLast: 2, keepWeekly: 3),
                RetentionPolicy(keepMonthly: 2, keepWithin: "3d"),
                RetentionPolicy(keepHourly: 5, keepYearly: 1),
                RetentionPolicy(keepDaily: 4, keepWeekly: 2, keepMonthly: 2),
            ]
            for policy in policies {
                let dryRun = try await restic.forget(
                    repository, tags: ["job=job_x"], host: "srv_x", keep: policy.resticArguments, prune: false, dryRun: true)
                let expected = preview(policy)
                #expect(Set(dryRun.groups.flatMap(\.remove)) == expected, "\(policy.summary)")
                #expect(!expected.isEmpty && expected.count < snapshots.count, "\(policy.summary) removes some, not all")
            }
            let policy = try #require(policies.last)
            let expected = preview(policy)
            _ = try await restic.forget(repository, tags: ["job=job_x"], host: "srv_x", keep: policy.resticArguments, prune: true)
            let left = Set(try await restic.snapshots(repository, tags: ["job=job_x"], host: "srv_x").map(\.id))
            #expect(left == Set(snapshots.map(\.id)).subtracting(expected))
            #expect(left.count == snapshots.count - expected.count)
        }
    }
}
