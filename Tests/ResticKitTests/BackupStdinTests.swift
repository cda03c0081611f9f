import Foundation
import Testing

@testable import ResticKit

@Suite("backup of a command's output", .enabled(if: ResticAvailability.isInstalled, ResticAvailability.reason))
struct BackupStdinTests {
    @Test("the producer's output becomes a snapshot holding the file name")
    func producerOutput() async throws {
        try await RepoFixture.with { (fixture: RepoFixture) async throws in
            let summary = try await fixture.restic.backupStdin(
                fixture.repository, filename: "shop.sql", tags: ["job=db"], host: "db-1",
                producer: ProducerCommand(executable: "/bin/sh", arguments: ["-c", "printf data"]),
                progress: { _ in }
            )
            #expect(summary.filesNew == 1)
            #expect(summary.totalBytesProcessed == 4)
            let snapshots = try await fixture.restic.snapshots(fixture.repository, tags: ["job=db"])
            #expect(snapshots.count == 1)
            #expect(snapshots.first?.paths == ["/shop.sql"])
            #expect(snapshots.first?.hostname == "db-1")
        }
    }

    @Test("a failing producer throws producerFailed and leaves no snapshot")
    func producerFails() async throws {
        try await RepoFixture.with { (fixture: RepoFixture) async throws in
            let producer = ProducerCommand(
                executable: "/bin/sh",
                arguments: ["-c", "printf partial; echo 'pg_dump: error: connection to server failed' >&2; exit 3"]
            )
            let error = await #expect(throws: ResticError.self) {
                _ = try await fixture.restic.backupStdin(
                    fixture.repository, filename: "shop.sql", tags: ["job=db"], host: "db-1",
                    producer: producer, progress: { _ in }
                )
            }
            #expect(error?.kind == .producerFailed)
            #expect(error?.exitCode == 3)
            #expect(error?.message.contains("exited with status 3") == true)
            #expect(error?.message.contains("pg_dump: error: connection to server failed") == true)
            #expect(try await fixture.restic.snapshots(fixture.repository, tags: []).isEmpty)
            #expect(fixture.resticLockCount() == 0)
        }
    }

    @Test("a producer killed by a signal counts as failed")
    func producerKilled() async throws {
        try await RepoFixture.with { (fixture: RepoFixture) async throws in
            let error = await #expect(throws: ResticError.self) {
                _ = try await fixture.restic.backupStdin(
                    fixture.repository, filename: "dump", tags: [], host: "db-1",
                    producer: ProducerCommand(executable: "/bin/sh", arguments: ["-c", "printf partial; kill -9 $$"]),
                    progress: { _ in }
                )
            }
            #expect(error?.kind == .producerFailed)
            #expect(error?.message.contains("killed by signal 9") == true)
            #expect(try await fixture.restic.snapshots(fixture.repository, tags: []).isEmpty)
        }
    }

    @Test("a producer that does not exist is reported as such")
    func producerMissing() async throws {
        try await RepoFixture.with { (fixture: RepoFixture) async throws in
            let error = await #expect(throws: ResticError.self) {
                _ = try await fixture.restic.backupStdin(
                    fixture.repository, filename: "dump", tags: [], host: "db-1",
                    producer: ProducerCommand(executable: "pg_dump_missing_\(UUID().uuidString.prefix(4))"),
                    progress: { _ in }
                )
            }
            #expect(error?.kind == .producerFailed)
            #expect(try await fixture.restic.snapshots(fixture.repository, tags: []).isEmpty)
        }
    }

    @Test("restic's own failure wins over the producer's broken pipe")
    func resticFailsFirst() async throws {
        try await RepoFixture.with { (fixture: RepoFixture) async throws in
            var repository = fixture.repository
            repository.environment["RESTIC_PASSWORD_FILE"] = nil
            repository.environment["RESTIC_PASSWORD"] = "not-the-password"
            let error = await #expect(throws: ResticError.self) {
                _ = try await fixture.restic.backupStdin(
                    repository, filename: "dump", tags: [], host: "db-1",
                    producer: ProducerCommand(executable: "/usr/bin/head", arguments: ["-c", "50000000", "/dev/zero"]),
                    progress: { _ in }
                )
            }
            #expect(error?.kind == .wrongPassword)
        }
    }

    @Test("the producer's stderr is redacted in the message")
    func producerStderrRedacted() async throws {
        try await RepoFixture.with { (fixture: RepoFixture) async throws in
            let dbPassword = "db-secret-\(UUID().uuidString.prefix(8))"
            let producer = ProducerCommand(
                executable: "/bin/sh",
                arguments: ["-c", #"echo "auth failed for $PGPASSWORD" >&2; exit 1"#],
                environment: ["PGPASSWORD": dbPassword]
            )
            let error = await #expect(throws: ResticError.self) {
                _ = try await fixture.restic.backupStdin(
                    fixture.repository, filename: "dump", tags: [], host: "db-1", producer: producer, progress: { _ in }
                )
            }
            let message = try #require(error?.message)
            #expect(message.contains("auth failed for"))
            #expect(!message.contains(dbPassword))
            #expect(error?.detail.contains(dbPassword) == false)
        }
    }
}
