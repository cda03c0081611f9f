import BackupCore
import Foundation
import Sealing
import Testing

/// Signed manifests (docs/sealing.md, "Signed manifests"): what verifies, what a change looks
/// like, and how versions count up.
@Suite("Sealing: signed manifests")
struct ManifestTests {
    static func job() throws -> Job {
        Job(
            id: "job_1", accountID: "acc_1", serverID: "srv_1", name: "nightly", kind: .full,
            sources: JobSources(paths: ["/srv/www"], excludes: ["*.tmp"]), schedule: try Schedule.parse("daily 02:30"),
            retention: RetentionPolicy(keepDaily: 7), destinationIDs: ["dst_1"], enabled: true,
            createdAt: Date(timeIntervalSince1970: 1_700_000_000), updatedAt: Date(timeIntervalSince1970: 1_700_000_000))
    }

    @Test func aSignedJobVerifiesOnlyUnderItsAccountKeyAndUnchanged() throws {
        let key = try AccountSigningKey.generate()
        var job = try Self.job()
        #expect(ManifestSignature.state(of: job, accountKey: nil) == .off)
        #expect(ManifestSignature.state(of: job, accountKey: key.publicKey) == .unsigned)
        job.manifest = try ManifestSignature.sign(JobManifest(job: job, version: 5), with: key)
        #expect(ManifestSignature.state(of: job, accountKey: key.publicKey) == .signed)
        #expect(ManifestSignature.state(of: job, accountKey: try AccountSigningKey.generate().publicKey) == .changed)
        job.name = "renamed"
        job.enabled = false
        #expect(ManifestSignature.state(of: job, accountKey: key.publicKey) == .signed, "name and switch are not signed")

        var moved = job
        moved.sources.paths.append("/root")
        moved.retention = RetentionPolicy(keepLast: 1)
        #expect(ManifestSignature.state(of: moved, accountKey: key.publicKey) == .changed)
        guard case .success(let signed) = ManifestSignature.open(try #require(job.manifest), as: JobManifest.self, accountKey: key.publicKey)
        else {
            Issue.record("the manifest does not open")
            return
        }
        #expect(signed.version == 5)
        #expect(signed.differences(from: moved) == ["sources", "retention"])
    }

    @Test func anAlteredBodyOrSignatureIsRefused() throws {
        let key = try AccountSigningKey.generate()
        let job = try Self.job()
        let manifest = try ManifestSignature.sign(JobManifest(job: job, version: 1), with: key)
        var body = try #require(manifest.bodyData)
        body[body.count / 2] ^= 0x01
        let altered = SignedManifest(body: body.base64EncodedString(), signature: manifest.signature)
        #expect(ManifestSignature.open(altered, as: JobManifest.self, accountKey: key.publicKey) == .failure(.badSignature))
        let certificate = try ServerCertificate.issue(accountID: "acc_1", serverID: "srv_1", publicKey: key.publicKey, signingKey: key)
        let reused = SignedManifest(body: manifest.body, signature: certificate)
        #expect(ManifestSignature.open(reused, as: JobManifest.self, accountKey: key.publicKey) == .failure(.badSignature))
        let destination = try ManifestSignature.sign(
            DestinationManifest(
                destination: Destination(
                    id: "dst_1", accountID: "acc_1", name: "nas", kind: .local, settings: DestinationSettings(path: "/srv/nas"),
                    createdAt: Date(), updatedAt: Date()), version: 1), with: key)
        #expect(ManifestSignature.open(destination, as: JobManifest.self, accountKey: key.publicKey) == .failure(.unreadable))
    }

    @Test func versionsCountUpFromTheClockAndThePreviousOne() throws {
        let key = try AccountSigningKey.generate()
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        #expect(SignedManifest.nextVersion(after: nil, now: now) == 1_800_000_000_000)
        let ahead = try ManifestSignature.sign(JobManifest(job: try Self.job(), version: 1_900_000_000_000), with: key)
        #expect(SignedManifest.nextVersion(after: ahead, now: now) == 1_900_000_000_001, "a clock behind still counts up")
    }

    @Test func aDestinationsSettingsAreSignedWhole() throws {
        let key = try AccountSigningKey.generate()
        var destination = Destination(
            id: "dst_1", accountID: "acc_1", name: "offsite", kind: .s3,
            settings: DestinationSettings(endpoint: "https://s3.example.com", bucket: "backups", prefix: "srv"), createdAt: Date(),
            updatedAt: Date())
        destination.manifest = try ManifestSignature.sign(DestinationManifest(destination: destination, version: 1), with: key)
        #expect(ManifestSignature.state(of: destination, accountKey: key.publicKey) == .signed)
        destination.settings.bucket = "attacker"
        #expect(ManifestSignature.state(of: destination, accountKey: key.publicKey) == .changed)
    }
}
