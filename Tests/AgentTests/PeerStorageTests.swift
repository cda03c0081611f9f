import BackupCore
import Crypto
import Foundation
import LinkProtocol
import Logging
import ResticKit
import Testing

@testable import Agent

/// The storage side of a peer destination: which directories it serves, what it does to them, and
/// that a source can add snapshots but never delete them (real rclone and restic).
@Suite("Peer storage root and append-only serving", .serialized)
struct PeerStorageTests {
    static func mode(_ path: String) -> mode_t? { SecureFile.mode(of: path) }

    @Test("system and shared directories are refused by the hub's rule and the agent alike")
    func systemDirectories() throws {
        for path in ["/usr", "/usr/local/backups", "/etc/mzpanel", "/var/lib/mzpanel", "/boot", "/proc/1", "/root", "/home", "/var", "/tmp"] {
            #expect(throws: DomainError.self, "\(path)") { _ = try DestinationSettings.peerRoot(path, field: "path") }
            #expect(throws: AgentError.self, "\(path)") { _ = try PeerRoot.prepare(path, destinationID: "dst_x") }
        }
        #expect(try DestinationSettings.peerRoot("/var/backups/mzpanel-peer", field: "path") == "/var/backups/mzpanel-peer")
        #expect(try DestinationSettings.peerRoot("/srv/peer", field: "path") == "/srv/peer")
        let settings = DestinationSettings(path: "/usr", peerServerID: "srv_x", peerAddress: "store:8443")
        #expect(throws: DomainError.self) { _ = try settings.validated(for: .peer) }
    }

    @Test("a new root is created 0700 and marked; an existing one is never chmod-ed; a foreign non-empty one is refused")
    func roots() async throws {
        try await withTemporaryDirectory { root in
            let fresh = root + "/a/b/peer"
            #expect(try PeerRoot.prepare(fresh, destinationID: "dst_1") == nil)
            #expect(Self.mode(fresh) == 0o700)
            #expect(FileManager.default.fileExists(atPath: fresh + "/" + PeerRoot.marker))
            #expect(try PeerRoot.prepare(fresh, destinationID: "dst_1") == nil, "its own root again")

            let shared = root + "/shared"
            try FileManager.default.createDirectory(atPath: shared, withIntermediateDirectories: true)
            try Data("someone else's".utf8).write(to: URL(fileURLWithPath: shared + "/notes.txt"))
            chmod(shared, 0o755)
            #expect(throws: AgentError.self) { _ = try PeerRoot.prepare(shared, destinationID: "dst_2") }
            #expect(Self.mode(shared) == 0o755, "the refused directory kept its mode")

            let empty = root + "/empty"
            try FileManager.default.createDirectory(atPath: empty, withIntermediateDirectories: true)
            chmod(empty, 0o755)
            let warning = try PeerRoot.prepare(empty, destinationID: "dst_3")
            #expect(warning?.contains("chmod 700") == true, "\(warning ?? "")")
            #expect(Self.mode(empty) == 0o755, "an existing directory is adopted as it is")

            let earlier = root + "/earlier"
            try FileManager.default.createDirectory(atPath: earlier + "/srv_aaaaaaaaaaaaaaaaaaaa", withIntermediateDirectories: true)
            try Data("{}".utf8).write(to: URL(fileURLWithPath: earlier + "/srv_aaaaaaaaaaaaaaaaaaaa/config"))
            chmod(earlier, 0o700)
            #expect(try PeerRoot.prepare(earlier, destinationID: "dst_4") == nil, "a root an earlier agent made (repositories only)")

            try FileManager.default.createSymbolicLink(atPath: root + "/link", withDestinationPath: fresh)
            #expect(throws: AgentError.self) { _ = try PeerRoot.prepare(root + "/link", destinationID: "dst_5") }
        }
    }

    @Test(
        "rclone serves append-only: the source backs up, but cannot forget its snapshot",
        .enabled(if: ProgramLocator.find("rclone") != nil && ProgramLocator.find("openssl") != nil && ResticPresence.path != nil))
    func appendOnly() async throws {
        try await withTemporaryDirectory { root in
            let port = Int.random(in: 40_000..<60_000)
            let user = "srv_cccccccccccccccccccc"
            let password = "peer-password-\(UInt32.random(in: 0...UInt32.max))"
            let hash = Data(Insecure.SHA1.hash(data: Data(password.utf8))).base64EncodedString()
            let destination = Destination(
                id: ResourceID.make(.destination), accountID: Fixtures.accountID, name: "peer", kind: .peer,
                settings: DestinationSettings(path: root + "/peer-root", peerServerID: Fixtures.serverID, peerAddress: "127.0.0.1:\(port)"),
                createdAt: Date(), updatedAt: Date())
            let state = try Fixtures.enrolledState(in: root, jobs: [])
            let supervisor = PeerSupervisor(state: state, logger: Logger(label: "test"))
            await supervisor.reconcile([PeerStore(destination: destination, logins: ["\(user):{SHA}\(hash)"])], link: nil)
            do {
                try await Self.backUpAndTryToForget(root: root, state: state, destination: destination, user: user, password: password, port: port)
            } catch {
                await supervisor.stopAll()
                throw error
            }
            await supervisor.stopAll()
        }
    }

    static func backUpAndTryToForget(root: String, state: AgentState, destination: Destination, user: String, password: String, port: Int)
        async throws
    {
        #expect(SecureFile.mode(of: root + "/peer-root") == 0o700)

        let certificate = state.directory + "/peer/" + destination.id + "/cert.pem"
        try SecureFile.write(Data("pw".utf8), to: root + "/repo-password")
        let repository = ResticRepository(
            location: "rest:https://\(user):\(password)@127.0.0.1:\(port)/\(user)/",
            environment: ["RESTIC_PASSWORD_FILE": root + "/repo-password", "RESTIC_CACHE_DIR": root + "/cache"],
            caCertificatePath: certificate)
        let restic = try await Restic.detect(executable: try #require(ResticPresence.path))
        _ = try await restic.initialize(repository)
        try Fixtures.makeTree(at: root + "/site", files: 3)
        let summary = try await restic.backup(repository, paths: [root + "/site"], excludes: [], tags: ["job=j"], host: "h", progress: { _ in })
        let snapshots = root + "/peer-root/\(user)/snapshots"
        #expect(try FileManager.default.contentsOfDirectory(atPath: snapshots).count == 1)
        await #expect(throws: (any Error).self) {
            try await restic.forgetSnapshot(repository, id: summary.snapshotID)
        }
        let stored = try FileManager.default.contentsOfDirectory(atPath: snapshots)
        #expect(stored.count == 1 && stored[0].hasPrefix(summary.snapshotID), "the snapshot is still stored: \(stored)")
    }
}
