import BackupCore
import Foundation
import LinkProtocol
import Testing

@testable import Agent
@testable import ResticKit

/// A destination's upload limit reaches restic and slows its copy: the same data backed up to two
/// local destinations in one run, one limited, one not. The ratio is asserted, not a wall time.
@Suite("Agent: bandwidth limits (real restic)", .enabled(if: ResticPresence.usable, "restic is not installed (apt-get install restic)"))
struct BandwidthLimitTests {
    @Test("a 1 MiB/s upload limit makes the copy of 6 MiB at least twice as slow as the unlimited one")
    func uploadLimitSlowsTheCopy() async throws {
        try await withTemporaryDirectory { root in
            try FileManager.default.createDirectory(atPath: root + "/site", withIntermediateDirectories: true)
            // Random bytes: restic can neither deduplicate nor compress them.
            var generator = SystemRandomNumberGenerator()
            let bytes = (0..<(6 * 1024 * 1024 / 8)).flatMap { _ in withUnsafeBytes(of: generator.next() as UInt64) { Array($0) } }
            try Data(bytes).write(to: URL(fileURLWithPath: root + "/site/data.bin"))
            var limited = Fixtures.localDestination(path: root + "/limited")
            limited.settings.limitUploadKiB = 1024
            let unlimited = Fixtures.localDestination(path: root + "/unlimited")
            let jobID = ResourceID.make(.job)
            let state = try Fixtures.enrolledState(
                in: root,
                jobs: [
                    AgentJob(
                        job: try Fixtures.job(id: jobID, paths: [root + "/site"], destinationIDs: [unlimited.id, limited.id]),
                        destinations: [unlimited, limited], envelopes: [])
                ])
            // Both repositories exist before the run: the copies then differ only in the upload.
            for destination in [unlimited, limited] {
                let repository = try JobRunner.repository(
                    of: destination,
                    access: RepositoryAccess(
                        identity: try state.loadIdentity(), state: state, runID: "run_x", envelopes: [], peerCertificates: nil,
                        repositoryServerID: Fixtures.serverID))
                #expect(repository.limitUploadKiB == destination.settings.limitUploadKiB)
                try await Restic.detect().initialize(repository)
            }
            var execution = RunExecution(state: state, engine: await JobRunner.make(), log: RunLog(echo: false))
            execution.deliveryTimeout = 0
            let (run, _) = try JobRunnerTests.finished(try await execution.execute(.init(jobID: jobID, trigger: .manual)))
            #expect(run.status == .succeeded, "\(run.results)")
            let fast = try #require(run.results.first { $0.destinationID == unlimited.id }?.durationSeconds)
            let slow = try #require(run.results.first { $0.destinationID == limited.id }?.durationSeconds)
            #expect(slow / fast >= 2, "limited \(slow) s, unlimited \(fast) s")
            #expect(run.results.allSatisfy { $0.bytesAdded > 6_000_000 }, "both copies stored the whole file")
        }
    }

    @Test("the limits become restic's global options; rclone's time table its environment")
    func argumentsAndEnvironment() throws {
        let repository = ResticRepository(location: "/tmp/repo", limitUploadKiB: 512, limitDownloadKiB: 2048)
        let restic = Restic(executablePath: "/usr/bin/restic", version: try #require(ResticVersion(parsing: "restic 0.14.0 compiled with go1.19")))
        let arguments = restic.arguments(for: repository, ["backup", "/srv"])
        #expect(arguments.contains("--limit-upload=512"))
        #expect(arguments.contains("--limit-download=2048"))
        #expect(arguments.suffix(2) == ["backup", "/srv"])
        #expect(!restic.arguments(for: ResticRepository(location: "/tmp/repo"), ["snapshots"]).contains { $0.hasPrefix("--limit") })

        let settings = DestinationSettings(remote: "gdrive", limitUploadKiB: 100, bandwidthSchedule: "08:00,512k 19:00,off")
        let rclone = JobRunner.limited(ResticRepository(location: "rclone:gdrive:x"), by: settings, kind: .rclone)
        #expect(rclone.environment["RCLONE_BWLIMIT"] == "08:00,512k 19:00,off")
        #expect(rclone.limitUploadKiB == 100)
        #expect(rclone.secretValues.isEmpty, "the time table is no secret")
        let local = JobRunner.limited(ResticRepository(location: "/tmp/repo"), by: settings, kind: .local)
        #expect(local.environment["RCLONE_BWLIMIT"] == nil)
    }
}
