import Foundation
import Testing

@testable import ResticKit

@Suite("backup of files", .enabled(if: ResticAvailability.isInstalled, ResticAvailability.reason))
struct BackupTests {
    @Test("a generated tree is backed up and listed with its tags and host")
    func backupTree() async throws {
        try await RepoFixture.with { fixture in
            let tree = try fixture.makeTree("site", files: 12, size: 4096)
            _ = FileManager.default.createFile(atPath: tree.appendingPathComponent("even/skip.tmp").path, contents: Data("x".utf8))
            let summary = try await fixture.restic.backup(
                fixture.repository, paths: [tree.path], excludes: ["*.tmp"], tags: ["job=site", "kind=files"],
                host: "web-1", progress: { _ in }
            )
            #expect(summary.filesNew == 12)
            #expect(summary.filesChanged == 0)
            #expect(summary.filesUnmodified == 0)
            #expect(summary.totalFilesProcessed == 12)
            #expect(summary.totalBytesProcessed == 12 * 4096)
            #expect(summary.dataAdded >= 12 * 4096)
            #expect(summary.warnings.isEmpty)
            #expect(!summary.snapshotID.isEmpty)

            let snapshots = try await fixture.restic.snapshots(fixture.repository, tags: ["job=site"])
            let snapshot = try #require(snapshots.first)
            #expect(snapshots.count == 1)
            #expect(snapshot.id.hasPrefix(summary.snapshotID))
            #expect(snapshot.shortID == String(snapshot.id.prefix(8)))
            #expect(snapshot.hostname == "web-1")
            #expect(Set(snapshot.tags) == ["job=site", "kind=files"])
            #expect(snapshot.paths == [tree.path])
            #expect(abs(snapshot.time.timeIntervalSinceNow) < 600)
            #expect(try await fixture.restic.snapshots(fixture.repository, tags: ["job=other"]).isEmpty)

            let again = try await fixture.restic.backup(
                fixture.repository, paths: [tree.path], excludes: ["*.tmp"], tags: ["job=site"], host: "web-1", progress: { _ in }
            )
            #expect(again.filesNew == 0)
            #expect(again.filesUnmodified == 12)
            #expect(again.snapshotID != summary.snapshotID)
        }
    }

    /// restic 0.14 prints a status line at once (percent 0), then a few more while it reads (for
    /// these 10 MiB: 0, 0.075, 0.525, 0.925), but never one at 100%: the summary ends the run.
    /// ResticKit adds one final report built from the summary.
    @Test("progress: restic's status lines, then one final report at 100%")
    func progress() async throws {
        try await RepoFixture.with { fixture in
            let tree = try fixture.makeTree("data", files: 40, size: 256 * 1024)
            let reports = Recorder<ResticProgress>()
            let summary = try await fixture.restic.backup(
                fixture.repository, paths: [tree.path], excludes: [], tags: [], host: "web-1",
                progress: { reports.append($0) }
            )
            let all = reports.all
            let fromRestic = all.filter { !$0.isFinal }
            let final = try #require(all.last)
            #expect(fromRestic.count >= 1)
            #expect(fromRestic.allSatisfy { (0...1).contains($0.percentDone) })
            #expect(fromRestic.map(\.percentDone) == fromRestic.map(\.percentDone).sorted())
            #expect(all.filter(\.isFinal).count == 1)
            #expect(final.isFinal)
            #expect(final.percentDone == 1)
            #expect(final.filesDone == 40)
            #expect(final.bytesDone == summary.totalBytesProcessed)
        }
    }

    /// Exit code 3: the snapshot exists but some files could not be read. /proc/PID/mem of a
    /// living process reads as an I/O error, for root too.
    @Test("unreadable files make warnings, not a failure (exit code 3)")
    func partial() async throws {
        try await RepoFixture.with { fixture in
            let tree = try fixture.makeTree("docs", files: 2, size: 100)
            let sleeper = Process()
            sleeper.executableURL = URL(fileURLWithPath: "/bin/sleep")
            sleeper.arguments = ["30"]
            try sleeper.run()
            defer { sleeper.terminate() }
            let unreadable = "/proc/\(sleeper.processIdentifier)/mem"
            let summary = try await fixture.restic.backup(
                fixture.repository, paths: [tree.path, unreadable], excludes: [], tags: ["job=docs"], host: "web-1",
                progress: { _ in }
            )
            #expect(!summary.isComplete)
            #expect(summary.warnings.contains { $0.contains(unreadable) })
            #expect(summary.filesNew == 2)
            #expect(try await fixture.restic.snapshots(fixture.repository, tags: ["job=docs"]).count == 1)
        }
    }

    @Test("invalid tags are refused before restic runs")
    func invalidTag() async throws {
        try await RepoFixture.with(initialize: false) { fixture in
            await #expect(throws: ResticError.self) {
                _ = try await fixture.restic.backup(
                    fixture.repository, paths: ["/tmp"], excludes: [], tags: ["a,b"], host: "h", progress: { _ in }
                )
            }
        }
    }
}
