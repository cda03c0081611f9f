import BackupCore
import Foundation
import LinkProtocol
import ResticKit
import Testing

@testable import Agent

/// A job keeping a different number of snapshots at each destination, with real restic.
@Suite("Agent: retention per destination (real restic)", .enabled(if: ResticPresence.usable, "restic is not installed (apt-get install restic)"))
struct DestinationRetentionTests {
    @Test("keep-last 1 for the job, 3 at one destination: after four runs one repository holds 1 snapshot, the other 3")
    func differentCountsInTwoRepositories() async throws {
        try await withTemporaryDirectory { root in
            try Fixtures.makeTree(at: root + "/site", files: 4)
            let local = Fixtures.localDestination(path: root + "/local")
            let offsite = Fixtures.localDestination(path: root + "/offsite")
            let jobID = ResourceID.make(.job)
            var job = try Fixtures.job(id: jobID, paths: [root + "/site"], retention: .init(keepLast: 1), destinationIDs: [local.id, offsite.id])
            job.destinationRetention = try Job.validatedDestinationRetention(
                [DestinationRetention(destination: offsite.id, retention: .init(keepLast: 3))], destinationIDs: job.destinationIDs)
            #expect(job.retention(for: local.id) == RetentionPolicy(keepLast: 1))
            #expect(job.retention(for: offsite.id) == RetentionPolicy(keepLast: 3))
            let state = try Fixtures.enrolledState(in: root, jobs: [AgentJob(job: job, destinations: [local, offsite], envelopes: [])])
            var execution = RunExecution(state: state, engine: await JobRunner.make(), log: RunLog(echo: false))
            execution.deliveryTimeout = 0
            for round in 0..<4 {
                try Data("round \(round)".utf8).write(to: URL(fileURLWithPath: root + "/site/round.txt"))
                let (run, _) = try JobRunnerTests.finished(try await execution.execute(.init(jobID: jobID, trigger: .manual)))
                #expect(run.status == .succeeded, "\(run.results)")
            }
            let restic = try await Restic.detect()
            func count(_ destination: Destination) async throws -> Int {
                let repository = try JobRunner.repository(
                    of: destination,
                    access: RepositoryAccess(
                        identity: try state.loadIdentity(), state: state, runID: "run_x", envelopes: [], peerCertificates: nil,
                        repositoryServerID: Fixtures.serverID))
                return try await restic.snapshots(repository, tags: ["job=\(jobID)"]).count
            }
            #expect(try await count(local) == 1)
            #expect(try await count(offsite) == 3)
        }
    }
}
