import BackupCore
import Foundation
import ResticKit
import Testing

@testable import Agent

/// The overwrite guard against the real restic: includes are literal paths, so what the preview
/// compares is exactly what restic restores; a symlink pointing elsewhere counts as replaced.
@Suite("File restore selection (real restic)", .enabled(if: ResticPresence.usable, "restic is not installed (apt-get install restic)"))
struct FileRestoreTests {
    struct Box {
        let root: String
        let restic: Restic
        let repository: ResticRepository
        let snapshotID: String
        var tree: String { root + "/tree" }

        func restore(_ includes: [String], target: String = "/") throws -> FileRestore {
            let plan = try RestorePlan(
                snapshotID: "snap", sourceServerID: "srv", destinationID: "dst", resticSnapshotIDs: [snapshotID], files: true, target: target,
                includes: includes, databases: [], overwrite: false, dryRun: false
            ).validated()
            return FileRestore(
                restic: restic, repository: repository, snapshotID: snapshotID, target: plan.target ?? "/", includes: plan.includes,
                log: RunLog(echo: false))
        }

        func text(_ relative: String) throws -> String { try String(contentsOfFile: tree + "/" + relative, encoding: .utf8) }
        func write(_ relative: String, _ text: String) throws { try Data(text.utf8).write(to: URL(fileURLWithPath: tree + "/" + relative)) }
    }

    /// A tree with `app/`, `[a]pp/` and a symlink, backed up once.
    static func backedUp(_ body: (Box) async throws -> Void) async throws {
        try await withTemporaryDirectory { root in
            let manager = FileManager.default
            try manager.createDirectory(atPath: root + "/tree/app", withIntermediateDirectories: true)
            try manager.createDirectory(atPath: root + "/tree/[a]pp", withIntermediateDirectories: true)
            try Data("app v1\n".utf8).write(to: URL(fileURLWithPath: root + "/tree/app/file.txt"))
            try Data("bracket v1\n".utf8).write(to: URL(fileURLWithPath: root + "/tree/[a]pp/file.txt"))
            try Data("top v1\n".utf8).write(to: URL(fileURLWithPath: root + "/tree/top.txt"))
            try manager.createSymbolicLink(atPath: root + "/tree/app/link", withDestinationPath: "file.txt")
            try SecureFile.write(Data("test-password".utf8), to: root + "/password")
            let repository = ResticRepository(
                location: root + "/repo", environment: ["RESTIC_PASSWORD_FILE": root + "/password", "RESTIC_CACHE_DIR": root + "/cache"])
            let restic = try await Restic.detect(executable: try #require(ResticPresence.path))
            _ = try await restic.initialize(repository)
            let summary = try await restic.backup(repository, paths: [root + "/tree"], excludes: [], tags: [], host: "test", progress: { _ in })
            try await body(Box(root: root, restic: restic, repository: repository, snapshotID: summary.snapshotID))
        }
    }

    @Test("an include of /* is the entry named *, not every top-level entry: nothing is selected and nothing overwritten")
    func starIsLiteral() async throws {
        try await Self.backedUp { box in
            try box.write("app/file.txt", "changed after the backup\n")
            try box.write("top.txt", "changed too\n")
            let restore = try box.restore(["/*"])
            let preview = try await restore.perform(overwrite: false, dryRun: false) { _ in }
            #expect(preview.files == 0 && preview.replaced.isEmpty)
            #expect(try box.text("app/file.txt") == "changed after the backup\n", "restic restored through a pattern the preview did not see")
            #expect(try box.text("top.txt") == "changed too\n")
        }
    }

    @Test("an include with [a] names the directory [a]pp literally: its changed file needs --overwrite, app/ is never touched")
    func bracketsAreLiteral() async throws {
        try await Self.backedUp { box in
            try box.write("app/file.txt", "changed after the backup\n")
            try box.write("[a]pp/file.txt", "bracket changed\n")
            let restore = try box.restore([box.tree + "/[a]pp/"])
            let preview = try await restore.preview()
            #expect(preview.replaced == [box.tree + "/[a]pp/file.txt"])
            await #expect(throws: AgentError.self) { try await restore.perform(overwrite: false, dryRun: false) { _ in } }
            #expect(try box.text("[a]pp/file.txt") == "bracket changed\n")
            _ = try await restore.perform(overwrite: true, dryRun: false) { _ in }
            #expect(try box.text("[a]pp/file.txt") == "bracket v1\n")
            #expect(try box.text("app/file.txt") == "changed after the backup\n", "app/ matched [a]pp as a pattern")
        }
    }

    @Test("a symlink whose target differs is replaced; an identical tree (links included) needs no confirmation")
    func symlinkTargets() async throws {
        try await Self.backedUp { box in
            let identical = try await box.restore([box.tree]).preview()
            #expect(identical.replaced.isEmpty && identical.existingLinks == [box.tree + "/app/link"])
            try FileManager.default.removeItem(atPath: box.tree + "/app/link")
            try FileManager.default.createSymbolicLink(atPath: box.tree + "/app/link", withDestinationPath: "/etc/passwd")
            let restore = try box.restore([box.tree + "/app"])
            #expect(try await restore.preview().replaced == [box.tree + "/app/link"])
            await #expect(throws: AgentError.self) { try await restore.perform(overwrite: false, dryRun: false) { _ in } }
            _ = try await restore.perform(overwrite: true, dryRun: false) { _ in }
            #expect(try FileManager.default.destinationOfSymbolicLink(atPath: box.tree + "/app/link") == "file.txt")
        }
    }
}
