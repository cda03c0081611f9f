import BackupCore
import Foundation
import LinkProtocol
import ResticKit
import Testing

@testable import Agent

/// Backups only forget; a prune job removes the data, with the destination's limits (real restic).
@Suite("Agent: prune apart from backups (real restic)", .enabled(if: ResticPresence.usable, "restic is not installed (apt-get install restic)"))
struct RepositoryPruneTests {
    @Test("a backup forgets without pruning; the prune job then removes the unreferenced data and the run says so")
    func backupForgetsPruneJobPrunes() async throws {
        try await withTemporaryDirectory { root in
            try FileManager.default.createDirectory(atPath: root + "/site", withIntermediateDirectories: true)
            var local = Fixtures.localDestination(path: root + "/local")
            local.settings.pruneMaxUnused = "0%"
            local.settings.lockWaitSeconds = 30
            let backupID = ResourceID.make(.job)
            let pruneID = ResourceID.make(.job)
            let backup = try Fixtures.job(id: backupID, paths: [root + "/site"], retention: .init(keepLast: 1), destinationIDs: [local.id])
            let prune = try Fixtures.job(id: pruneID, name: "prune-local", kind: .prune, schedule: "weekly", destinationIDs: [local.id])
            let state = try Fixtures.enrolledState(
                in: root,
                jobs: [AgentJob(job: backup, destinations: [local], envelopes: []), AgentJob(job: prune, destinations: [local], envelopes: [])])
            var execution = RunExecution(state: state, engine: await JobRunner.make(), log: RunLog(echo: false))
            execution.deliveryTimeout = 0
            let restic = try await Restic.detect()
            let repository = try JobRunner.repository(
                of: local,
                access: RepositoryAccess(
                    identity: try state.loadIdentity(), state: state, runID: "run_x", envelopes: [], peerCertificates: nil,
                    repositoryServerID: Fixtures.serverID))
            var sizes: [Int64] = []
            for _ in 0..<3 {
                // 300 KiB of fresh data each round, so each snapshot holds data of its own.
                // Random, so restic's compression cannot shrink it.
                var generator = SystemRandomNumberGenerator()
                let bytes = (0..<(300 * 1024 / 8)).flatMap { _ in withUnsafeBytes(of: generator.next() as UInt64) { Array($0) } }
                try Data(bytes).write(to: URL(fileURLWithPath: root + "/site/data.bin"))
                let (run, _) = try JobRunnerTests.finished(try await execution.execute(.init(jobID: backupID, trigger: .manual)))
                #expect(run.status == .succeeded, "\(run.results)")
                // Measured after retention: one snapshot left, its data counted once.
                let measured = try #require(run.results.first?.repository, "the backup reports the repository's statistics")
                #expect(measured.snapshotCount == 1)
                #expect(measured.storedBytes >= 300 * 1024 && measured.totalBytes >= 300 * 1024, "\(measured)")
                sizes.append(Self.diskUsage(repository.location + "/data"))
            }
            // Retention forgot the older snapshots, but no backup pruned: the repository only grew.
            let stats = try await restic.stats(repository)
            #expect(stats.snapshotCount == 1)
            #expect(sizes == sizes.sorted() && sizes[2] > sizes[0] + 200 * 1024, "\(sizes)")

            let (pruneRun, record) = try JobRunnerTests.finished(try await execution.execute(.init(jobID: pruneID, trigger: .manual)))
            #expect(pruneRun.status == .succeeded, "\(pruneRun.results) \(pruneRun.logExcerpt ?? "")")
            #expect(record == nil, "a prune makes no snapshot")
            #expect(pruneRun.results.first?.repository?.snapshotCount == 1)
            #expect(pruneRun.logExcerpt?.contains("restic prune --max-unused 0%") == true, "\(pruneRun.logExcerpt ?? "")")
            #expect(pruneRun.logExcerpt?.contains("total prune:") == true)
            let after = try await restic.stats(repository)
            #expect(after.snapshotCount == 1)
            let packs = Self.diskUsage(repository.location + "/data")
            #expect(packs < sizes[2] - 400 * 1024, "\(sizes[2]) → \(packs)")
            #expect(try await restic.check(repository, readDataSubset: "100%").isHealthy)
        }
    }

    static func diskUsage(_ path: String) -> Int64 {
        var total: Int64 = 0
        let enumerator = FileManager.default.enumerator(atPath: path)
        while let name = enumerator?.nextObject() as? String {
            let attributes = try? FileManager.default.attributesOfItem(atPath: path + "/" + name)
            if attributes?[.type] as? FileAttributeType == .typeRegular { total += (attributes?[.size] as? NSNumber)?.int64Value ?? 0 }
        }
        return total
    }
}
