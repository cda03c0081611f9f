import BackupCore
import Foundation
import ResticKit

/// Restoring a snapshot's files below a target: first a dry run against what is on disk (files
/// that exist and differ would be replaced), then — when nothing would be replaced, or the
/// replacement was confirmed — `restic restore`, with progress measured on disk.
struct FileRestore {
    let restic: Restic
    let repository: ResticRepository
    let snapshotID: String
    /// `/` restores in place.
    let target: String
    let includes: [String]
    let log: RunLog

    /// What a restore would do to the target.
    struct Preview: Sendable {
        var files = 0
        var bytes: Int64 = 0
        /// Existing entries that would be replaced (a different size, time, type or link target).
        var replaced: [String] = []
        var created = 0
        /// The files to watch for progress: path on disk and size.
        var expected: [(String, Int64)] = []
        /// Symlinks already on disk where the snapshot has symlinks (restic cannot write over them).
        var existingLinks: [String] = []
    }

    func preview() async throws -> Preview {
        let collected = Collector()
        try await restic.ls(repository, snapshotID: snapshotID) { node in
            guard self.selected(node.path, isDirectory: node.type == "dir") else { return }
            collected.add(node)
        }
        var preview = Preview()
        var links: [(node: ResticNode, path: String)] = []
        let manager = FileManager.default
        for node in collected.nodes {
            let path = onDisk(node.path)
            if node.type == "dir" {
                // restic writes into an existing directory; anything else in its place is replaced
                // (a symlink there would take the restore elsewhere).
                if let attributes = try? manager.attributesOfItem(atPath: path), attributes[.type] as? FileAttributeType != .typeDirectory {
                    preview.replaced.append(node.path)
                }
                continue
            }
            if node.type == "file" {
                preview.files += 1
                preview.bytes += node.size
                preview.expected.append((path, node.size))
            }
            guard let attributes = try? manager.attributesOfItem(atPath: path) else {
                preview.created += 1
                continue
            }
            let existingType = attributes[.type] as? FileAttributeType
            if node.type == "symlink" && existingType == .typeSymbolicLink {
                preview.existingLinks.append(path)
                links.append((node, path))
                continue
            }
            let sameType = node.type == "file" && existingType == .typeRegular
            let sameSize = ((attributes[.size] as? NSNumber)?.int64Value ?? -1) == node.size
            let sameTime = node.modifiedAt.map { abs(((attributes[.modificationDate] as? Date) ?? .distantPast).timeIntervalSince($0)) < 1 } ?? true
            if !(sameType && sameSize && sameTime) { preview.replaced.append(node.path) }
        }
        // A symlink on disk is replaced unless it already points where the snapshot's does.
        if !links.isEmpty {
            let targets = try await restic.linkTargets(repository, snapshotID: snapshotID, paths: links.map(\.node.path))
            for (node, path) in links where targets[node.path] == nil || targets[node.path] != (try? manager.destinationOfSymbolicLink(atPath: path))
            {
                preview.replaced.append(node.path)
            }
        }
        return preview
    }

    /// The whole decision: compare with the target, log what would change, then stop (dry run),
    /// refuse (files that differ, not confirmed) or restore. Answers what was (or would be) done.
    func perform(overwrite: Bool, dryRun: Bool, progress: @escaping @Sendable (RunProgress) async -> Void) async throws -> Preview {
        let preview = try await preview()
        log(
            "\(preview.files) files (\(preview.bytes) bytes) to \(target == "/" ? "their original location" : target): \(preview.created) new, \(preview.replaced.count) replaced"
        )
        if !preview.replaced.isEmpty {
            log("would replace: " + preview.replaced.prefix(20).joined(separator: ", ") + (preview.replaced.count > 20 ? ", …" : ""))
        }
        if dryRun {
            log("dry run: nothing was written")
            return preview
        }
        if !preview.replaced.isEmpty && !overwrite {
            throw AgentError(
                "restoring would replace \(preview.replaced.count) existing file\(preview.replaced.count == 1 ? "" : "s") that differ (e.g. \(preview.replaced.prefix(3).joined(separator: ", "))); nothing was changed. Restore to another directory (--target), or confirm with --overwrite"
            )
        }
        try await run(preview, progress: progress)
        log("files restored")
        return preview
    }

    /// Restores, reporting progress about once a second from the bytes present on disk.
    func run(_ preview: Preview, progress: @escaping @Sendable (RunProgress) async -> Void) async throws {
        // A missing target is created (0755, as mkdir -p would); an existing one keeps its mode.
        if !FileManager.default.fileExists(atPath: target) {
            try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: true)
        }
        // restic writes files over existing ones, but not symlinks: those it recreates are removed first.
        for link in preview.existingLinks where unlink(link) != 0 && errno != ENOENT {
            throw AgentError("cannot replace the symlink \(link) (\(String(cString: strerror(errno))))")
        }
        let started = Date()
        let watcher = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(1))
                let done = Self.bytesPresent(preview.expected)
                let fraction = preview.bytes > 0 ? min(0.99, Double(done) / Double(preview.bytes)) : 0
                await progress(
                    RunProgress(
                        percentDone: fraction, totalFiles: Int64(preview.files), bytesDone: done, totalBytes: preview.bytes,
                        secondsElapsed: Date().timeIntervalSince(started), phase: "restoring files"))
            }
        }
        defer { watcher.cancel() }
        try await restic.restore(repository, snapshotID: snapshotID, target: target, includes: includes)
        watcher.cancel()
        await progress(
            RunProgress(
                percentDone: 1, filesDone: Int64(preview.files), totalFiles: Int64(preview.files), bytesDone: preview.bytes,
                totalBytes: preview.bytes, secondsElapsed: Date().timeIntervalSince(started), phase: "restoring files"))
    }

    /// Where a snapshot path lands: restic puts `/a/b` at `<target>/a/b`.
    func onDisk(_ path: String) -> String { target == "/" ? path : target + path }

    /// Whether restic restores this entry: everything without includes; else an include itself and
    /// everything below it, and (directories only) the parents restic creates on the way. The
    /// includes reach restic as literal paths (`Restic.literalPattern`), so this is the same selection.
    func selected(_ path: String, isDirectory: Bool = false) -> Bool {
        includes.isEmpty
            || includes.contains { path == $0 || path.hasPrefix($0 + "/") || (isDirectory && $0.hasPrefix(path == "/" ? "/" : path + "/")) }
    }

    /// Bytes of the expected files already on disk at their full size (restic writes each file whole).
    static func bytesPresent(_ expected: [(String, Int64)]) -> Int64 {
        var total: Int64 = 0
        var info = stat()
        for (path, size) in expected where stat(path, &info) == 0 && Int64(info.st_size) >= size { total += size }
        return total
    }

    /// Entries gathered while restic lists them (called from its output thread).
    final class Collector: @unchecked Sendable {
        private let lock = NSLock()
        private var items: [ResticNode] = []
        func add(_ node: ResticNode) { lock.withLock { items.append(node) } }
        var nodes: [ResticNode] { lock.withLock { items } }
    }
}
