import Agent
import BackupCore
import Foundation
import LinkProtocol
import Sealing
import Testing

/// What the box accepts once it pinned the account key (docs/sealing.md, "Checks on the box").
@Suite("Agent: manifest trust")
struct ManifestTrustTests {
    let identity = AgentIdentity(serverID: Fixtures.serverID, accountID: Fixtures.accountID, serverName: "box", hubURL: "http://127.0.0.1:9")

    func signed(_ job: Job, _ destination: Destination, key: AccountSigningKey, version: Int64 = 10) throws -> AgentJob {
        var job = job
        var destination = destination
        job.manifest = try ManifestSignature.sign(JobManifest(job: job, version: version), with: key)
        destination.manifest = try ManifestSignature.sign(DestinationManifest(destination: destination, version: version), with: key)
        return AgentJob(job: job, destinations: [destination], envelopes: [])
    }

    @Test func withoutAPinnedKeyEverythingRunsAndWithOneOnlySignedJobsDo() async throws {
        try await withTemporaryDirectory { root in
            let destination = Fixtures.localDestination(path: root + "/repo")
            let job = try Fixtures.job(paths: [root + "/src"], destinationIDs: [destination.id])
            let state = try Fixtures.enrolledState(in: root, jobs: [])
            let trust = ManifestTrust(state: state)
            let unsigned = AgentJob(job: job, destinations: [destination], envelopes: [])
            #expect(trust.refusal(for: unsigned, identity: identity) == nil, "trust mode off")

            let key = try AccountSigningKey.generate()
            try trust.pin(key.publicKey)
            #expect(trust.refusal(for: unsigned, identity: identity)?.contains("is not signed by your account key") == true)
            let good = try signed(job, destination, key: key)
            #expect(trust.refusal(for: good, identity: identity) == nil)

            let foreign = try signed(job, destination, key: try AccountSigningKey.generate())
            #expect(trust.refusal(for: foreign, identity: identity)?.contains("not signed by your account key") == true)

            var redirected = good
            redirected.destinations[0].settings.path = root + "/elsewhere"
            #expect(trust.refusal(for: redirected, identity: identity)?.contains("differs from what your account signed (settings)") == true)

            var otherServer = try signed(job, destination, key: key, version: 11)
            otherServer.job.serverID = "srv_other"
            otherServer.job.manifest = try ManifestSignature.sign(JobManifest(job: otherServer.job, version: 11), with: key)
            #expect(trust.refusal(for: otherServer, identity: identity)?.contains("another server") == true)
        }
    }

    @Test func aRestoreThatReplacesDataRunsOnlySignedForThisServerAndOnlyOnce() async throws {
        try await withTemporaryDirectory { root in
            let trust = ManifestTrust(state: try Fixtures.enrolledState(in: root, jobs: []))
            let plan = RestorePlan(
                snapshotID: "snp_1", sourceServerID: Fixtures.serverID, destinationID: "dst_1", resticSnapshotIDs: ["abc"], files: true,
                target: nil, includes: [], databases: [], overwrite: true, dryRun: false)
            var run = Run(
                id: "run_restore1", accountID: Fixtures.accountID, serverID: Fixtures.serverID, jobID: "job_1", trigger: .restore,
                status: .queued, createdAt: Date(), restore: plan)
            #expect(trust.refusal(forRestore: run, identity: identity) == nil, "trust mode off")
            let key = try AccountSigningKey.generate()
            try trust.pin(key.publicKey)
            #expect(trust.refusal(forRestore: run, identity: identity)?.contains("is not signed by your account key") == true)

            var dry = run
            dry.restore?.dryRun = true
            #expect(trust.refusal(forRestore: dry, identity: identity) == nil, "a dry run writes nothing")
            var fresh = run
            fresh.restore?.overwrite = false
            #expect(trust.refusal(forRestore: fresh, identity: identity) == nil, "new files onto the snapshot's own server replace nothing")
            var foreign = fresh
            foreign.restore?.sourceServerID = "srv_other"
            #expect(trust.refusal(forRestore: foreign, identity: identity) != nil, "another server's data needs a signature")

            var changed = run
            changed.signature = RunSignature(
                state: .signed, manifest: try ManifestSignature.sign(RestoreManifest(run: run, plan: plan, version: 5), with: key))
            changed.restore?.target = "/elsewhere"
            #expect(trust.refusal(forRestore: changed, identity: identity)?.contains("differs from what your account signed (plan)") == true)

            run.signature = RunSignature(
                state: .signed, manifest: try ManifestSignature.sign(RestoreManifest(run: run, plan: plan, version: 5), with: key))
            #expect(trust.refusal(forRestore: run, identity: identity) == nil)
            #expect(trust.refusal(forRestore: run, identity: identity)?.contains("already carried out") == true, "the same order again")
        }
    }

    @Test func anOlderSignedVersionIsRefusedOnceANewerOneWasAccepted() async throws {
        try await withTemporaryDirectory { root in
            let destination = Fixtures.localDestination(path: root + "/repo")
            let job = try Fixtures.job(paths: [root + "/src"], destinationIDs: [destination.id])
            let trust = ManifestTrust(state: try Fixtures.enrolledState(in: root, jobs: []))
            let key = try AccountSigningKey.generate()
            try trust.pin(key.publicKey)
            #expect(trust.refusal(for: try signed(job, destination, key: key, version: 20), identity: identity) == nil)
            #expect(trust.refusal(for: try signed(job, destination, key: key, version: 20), identity: identity) == nil, "the same version again")
            let replay = try #require(trust.refusal(for: try signed(job, destination, key: key, version: 19), identity: identity))
            #expect(replay.contains("older than version 20"), "\(replay)")
        }
    }

    @Test func aResetForgetsThePinAndTheNextPinMustHaveTheGivenFingerprint() async throws {
        try await withTemporaryDirectory { root in
            let state = try Fixtures.enrolledState(in: root, jobs: [])
            let trust = ManifestTrust(state: state)
            let old = try AccountSigningKey.generate()
            try trust.pin(old.publicKey)
            let wanted = try AccountSigningKey.generate()
            try trust.reset(expecting: wanted.fingerprint)
            #expect(trust.pinnedKey() == nil)

            let sync = JobSync(state: state, settings: AgentSettings(systemdDirectory: nil))
            _ = try sync.apply(AgentJobSet(serverID: Fixtures.serverID, jobs: [], accountKey: old.publicKey.base64EncodedString()))
            #expect(trust.pinnedKey() == nil, "a key with another fingerprint is not pinned")
            let warnings = try sync.apply(AgentJobSet(serverID: Fixtures.serverID, jobs: [], accountKey: wanted.publicKey.base64EncodedString()))
            #expect(trust.pinnedKey() == wanted.publicKey)
            #expect(warnings.contains { $0.contains(wanted.fingerprint) })
            _ = try sync.apply(AgentJobSet(serverID: Fixtures.serverID, jobs: [], accountKey: old.publicKey.base64EncodedString()))
            #expect(trust.pinnedKey() == wanted.publicKey, "the hub cannot re-pin")
        }
    }
}
