import Foundation
import Testing

@testable import ResticKit

/// The error kinds a real restic produces, end to end.
@Suite("errors from a real restic", .enabled(if: ResticAvailability.isInstalled, ResticAvailability.reason))
struct ErrorKindTests {
    @Test("a wrong password is wrongPassword, in plain words")
    func wrongPassword() async throws {
        try await RepoFixture.with { fixture in
            let wrongFile = fixture.root.appendingPathComponent("wrong")
            try writeSecretFile(wrongFile, "not-the-password")
            var repository = fixture.repository
            repository.environment["RESTIC_PASSWORD_FILE"] = wrongFile.path
            let error = await #expect(throws: ResticError.self) {
                _ = try await fixture.restic.snapshots(repository, tags: [])
            }
            #expect(error?.kind == .wrongPassword)
            #expect(error?.message == "the repository password is wrong")
            await #expect(throws: ResticError.self) { _ = try await fixture.restic.isInitialized(repository) }
        }
    }

    /// restic 0.14 fails at once when an exclusive lock (forget, check, prune) meets the lock of a
    /// running backup. The backup here reads a producer that waits for a file to appear.
    @Test("an exclusive operation during a backup is locked")
    func locked() async throws {
        try await RepoFixture.with { fixture in
            let go = fixture.root.appendingPathComponent("go").path
            let producer = ProducerCommand(
                executable: "/bin/sh",
                arguments: ["-c", "while [ ! -e \"$0\" ]; do sleep 0.05; done; printf data", go]
            )
            let restic = fixture.restic
            let repository = fixture.repository
            let backup = Task {
                try await restic.backupStdin(repository, filename: "dump", tags: ["job=db"], host: "h", producer: producer, progress: { _ in })
            }
            #expect(try await eventually { fixture.resticLockCount() > 0 })

            let error = await #expect(throws: ResticError.self) {
                _ = try await restic.forget(repository, tags: ["job=db"], host: nil, keep: ["--keep-last", "1"], prune: false)
            }
            #expect(error?.kind == .locked)
            #expect(error?.message.hasPrefix("the repository is locked by another operation") == true)

            _ = FileManager.default.createFile(atPath: go, contents: nil)
            let summary = try await backup.value
            #expect(summary.filesNew == 1)
            #expect(fixture.resticLockCount() == 0)
        }
    }

    @Test("an unreachable server is unreachable, and its credentials stay out of the message")
    func unreachable() async throws {
        try await withTemporaryDirectory { root in
            let secret = "s3cr3t-\(UUID().uuidString.prefix(8))"
            let repository = ResticRepository(
                location: "rest:http://agent:\(secret)@127.0.0.1:9/repo",
                environment: ["RESTIC_PASSWORD": "pw-\(secret)", "RESTIC_CACHE_DIR": root.path]
            )
            let restic = try await Restic.detect()
            let error = await #expect(throws: ResticError.self) { _ = try await restic.isInitialized(repository) }
            #expect(error?.kind == .unreachable)
            #expect(error?.message.hasPrefix("the destination cannot be reached") == true)
            #expect(error?.message.contains(secret) == false)
            #expect(error?.detail.contains(secret) == false)
        }
    }

    /// restic echoes RESTIC_PASSWORD_COMMAND's value when it cannot run it.
    @Test("a secret value that restic prints does not reach the message")
    func redacted() async throws {
        try await RepoFixture.with { fixture in
            let secret = "token-\(UUID().uuidString.prefix(12))"
            var repository = fixture.repository
            repository.environment = [
                "RESTIC_PASSWORD_COMMAND": "/nonexistent/\(secret)",
                "RESTIC_CACHE_DIR": fixture.root.appendingPathComponent("cache").path,
            ]
            let error = await #expect(throws: ResticError.self) { _ = try await fixture.restic.snapshots(repository, tags: []) }
            let message = try #require(error?.message)
            #expect(message.contains("[redacted]"))
            #expect(!message.contains(secret))
            #expect(error?.detail.contains(secret) == false)
        }
    }
}
