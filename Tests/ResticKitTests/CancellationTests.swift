import Foundation
import Testing

@testable import ResticKit

@Suite("cancellation", .enabled(if: ResticAvailability.isInstalled, ResticAvailability.reason))
struct CancellationTests {
    /// Cancelling the task interrupts restic (SIGINT), which removes its own lock and records nothing.
    /// The cancel waits until restic reports progress after a second: restic 0.14 writes its lock
    /// file some 200 ms before it registers it for removal, and a SIGINT in between leaves a stale lock.
    @Test("cancelling a running backup throws interrupted and leaves no lock or snapshot")
    func cancelBackup() async throws {
        try await RepoFixture.with { (fixture: RepoFixture) async throws in
            let producer = ProducerCommand(executable: "/bin/sh", arguments: ["-c", "printf start; exec sleep 60"])
            let restic = fixture.restic
            let repository = fixture.repository
            let reports = Recorder<ResticProgress>()
            let backup = Task {
                try await restic.backupStdin(
                    repository, filename: "dump", tags: [], host: "h", producer: producer, progress: { reports.append($0) }
                )
            }
            #expect(try await eventually { reports.all.contains { $0.secondsElapsed >= 1 } })
            #expect(fixture.resticLockCount() == 1)
            let started = Date()
            backup.cancel()
            let error = await #expect(throws: ResticError.self) { _ = try await backup.value }
            #expect(error?.kind == .interrupted)
            #expect(Date().timeIntervalSince(started) < 5, "restic and the producer end on SIGINT, before the grace period")
            #expect(fixture.resticLockCount() == 0)
            #expect(try await restic.snapshots(repository, tags: []).isEmpty)
        }
    }

    @Test("a task cancelled before the call does not start restic")
    func cancelledBefore() async throws {
        try await RepoFixture.with(initialize: false) { (fixture: RepoFixture) async throws in
            let restic = fixture.restic
            let repository = fixture.repository
            let task = Task {
                withUnsafeCurrentTask { $0?.cancel() }
                return try await restic.isInitialized(repository)
            }
            let error = await #expect(throws: ResticError.self) { _ = try await task.value }
            #expect(error?.kind == .interrupted)
        }
    }
}
