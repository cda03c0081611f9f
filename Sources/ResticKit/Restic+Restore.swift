import Foundation
import Redaction

#if canImport(Glibc)
    import Glibc
#endif

/// One entry of a snapshot's tree, as `restic ls --json` prints it.
public struct ResticNode: Sendable, Equatable, Codable {
    public var path: String
    public var name: String
    /// `file`, `dir`, `symlink`, `dev`, `chardev`, `fifo`, `socket`.
    public var type: String
    public var size: Int64
    /// Permission bits (`0o755`); file-type bits are in `type`.
    public var mode: UInt32
    public var modifiedAt: Date?
    public var uid: UInt32
    public var gid: UInt32

    public init(path: String, name: String, type: String, size: Int64, mode: UInt32, modifiedAt: Date?, uid: UInt32 = 0, gid: UInt32 = 0) {
        self.path = path
        self.name = name
        self.type = type
        self.size = size
        self.mode = mode
        self.modifiedAt = modifiedAt
        self.uid = uid
        self.gid = gid
    }
}

extension Restic {
    /// Lists every entry of a snapshot, streamed: `onNode` is called per entry as restic prints
    /// it, so a tree of millions of files is never held as text.
    public func ls(_ repository: ResticRepository, snapshotID: String, onNode: @escaping @Sendable (ResticNode) -> Void) async throws {
        try ArgumentCheck.snapshotID(snapshotID)
        let output = try await run(
            repository, ["ls", snapshotID], noLock: true, stdoutLimit: 0,
            onStdoutLine: { line in
                guard line.hasPrefix("{"), let node = Self.node(fromJSONLine: line) else { return }
                onNode(node)
            })
        guard output.succeeded else { throw failure(output, repository, operation: "listing snapshot \(snapshotID.prefix(8))") }
    }

    /// Restores a snapshot (or the `includes` within it) below `target`, keeping ownership (when
    /// run as root), modes, times and symlinks. Existing files are overwritten.
    ///
    /// `includes` are literal absolute paths (each selects itself and everything below it): their
    /// pattern characters are escaped (`literalPattern`), so `/srv/[a]pp` selects that directory
    /// and `/*` selects an entry named `*`, never every top-level entry.
    public func restore(_ repository: ResticRepository, snapshotID: String, target: String, includes: [String]) async throws {
        try ArgumentCheck.snapshotID(snapshotID)
        guard target.hasPrefix("/"), !target.contains("\n") else {
            throw ResticError.invalidArgument("the restore target \"\(target)\" is not an absolute path")
        }
        var command = ["restore", snapshotID, "--target=\(target)"]
        for include in includes {
            guard include.hasPrefix("/"), !include.contains("\n") else {
                throw ResticError.invalidArgument("an include path is not absolute or has a line break")
            }
            command.append("--include=\(Self.literalPattern(include))")
        }
        let output = try await run(repository, command, json: false, stdoutLimit: 1024 * 1024)
        guard output.succeeded else { throw failure(output, repository, operation: "restoring snapshot \(snapshotID.prefix(8))") }
    }

    /// Restores like `restore(_:snapshotID:target:includes:)`, but answers the entries restic could
    /// not restore (snapshot path → restic's reason, from its `ignoring error for PATH: REASON`
    /// lines: a damaged pack, a blob that fails its MAC or hash) instead of failing on them. A
    /// failure that names no entry (no repository, wrong key) still throws.
    public func restoreReportingDamage(_ repository: ResticRepository, snapshotID: String, target: String, includes: [String]) async throws
        -> [String: String]
    {
        try ArgumentCheck.snapshotID(snapshotID)
        guard target.hasPrefix("/"), !target.contains("\n") else {
            throw ResticError.invalidArgument("the restore target \"\(target)\" is not an absolute path")
        }
        var command = ["restore", snapshotID, "--target=\(target)"]
        for include in includes {
            guard include.hasPrefix("/"), !include.contains("\n") else {
                throw ResticError.invalidArgument("an include path is not absolute or has a line break")
            }
            command.append("--include=\(Self.literalPattern(include))")
        }
        let damage = DamageCollector()
        let redactor = Redactor(secrets: repository.secretValues)
        let output = try await run(
            repository, command, json: false, stdoutLimit: 1024 * 1024,
            onStderrLine: { line in
                guard let entry = Self.damagedEntry(line) else { return }
                damage.add(entry.path, redactor.redact(entry.reason))
            })
        let found = damage.entries
        guard output.succeeded || !found.isEmpty else {
            throw failure(output, repository, operation: "restoring snapshot \(snapshotID.prefix(8))")
        }
        return found
    }

    /// `ignoring error for /a/b: ciphertext verification failed` → (`/a/b`, the reason).
    public static func damagedEntry(_ line: String) -> (path: String, reason: String)? {
        let prefix = "ignoring error for "
        guard let start = line.range(of: prefix) else { return nil }
        let rest = line[start.upperBound...]
        guard let separator = rest.range(of: ": ") else { return nil }
        return (String(rest[..<separator.lowerBound]), String(rest[separator.upperBound...]).trimmingCharacters(in: .whitespaces))
    }

    final class DamageCollector: @unchecked Sendable {
        private let lock = NSLock()
        private var found: [String: String] = [:]
        func add(_ path: String, _ reason: String) { lock.withLock { found[path] = found[path].map { $0 + "; " + reason } ?? reason } }
        var entries: [String: String] { lock.withLock { found } }
    }

    /// A path as a restic include/exclude pattern that matches only itself: restic splits patterns
    /// at `/` and matches each part with Go's `filepath.Match`, where `*`, `?`, `[`, `]` are
    /// pattern characters and `\\` escapes the next one.
    public static func literalPattern(_ path: String) -> String {
        var escaped = ""
        for character in path {
            if "*?[]\\".contains(character) { escaped.append("\\") }
            escaped.append(character)
        }
        return escaped
    }

    /// The targets of symlinks in a snapshot, by path (`restic ls --json` of restic before 0.17
    /// does not print them): read from the snapshot's directory trees (`restic cat`), each
    /// directory once. A path that is not a symlink in the snapshot is left out.
    public func linkTargets(_ repository: ResticRepository, snapshotID: String, paths: [String]) async throws -> [String: String] {
        try ArgumentCheck.snapshotID(snapshotID)
        struct SnapshotJSON: Decodable { var tree: String }
        struct TreeJSON: Decodable {
            struct Node: Decodable {
                var name: String
                var type: String
                var subtree: String?
                var linktarget: String?
            }
            var nodes: [Node]?
        }
        func cat(_ arguments: [String]) async throws -> Data {
            let output = try await run(repository, ["cat"] + arguments, json: false, noLock: true)
            guard output.succeeded else { throw failure(output, repository, operation: "reading snapshot \(snapshotID.prefix(8))") }
            return Data(output.stdout.utf8)
        }
        let root = try JSONDecoder().decode(SnapshotJSON.self, from: try await cat(["snapshot", snapshotID])).tree
        var trees: [String: [TreeJSON.Node]?] = [:]
        // The nodes of the directory at `path` ("" is the root), nil when it is not a directory.
        func nodes(_ path: String) async throws -> [TreeJSON.Node]? {
            if let known = trees[path] { return known }
            var found: [TreeJSON.Node]?
            var treeID: String?
            if path.isEmpty {
                treeID = root
            } else {
                let parent = (path as NSString).deletingLastPathComponent
                let name = (path as NSString).lastPathComponent
                treeID = try await nodes(parent == "/" ? "" : parent)?.first { $0.name == name && $0.type == "dir" }?.subtree
            }
            if let treeID, treeID.allSatisfy({ $0.isASCII && $0.isHexDigit }), !treeID.isEmpty {
                found = try JSONDecoder().decode(TreeJSON.self, from: try await cat(["blob", treeID])).nodes ?? []
            }
            trees[path] = found
            return found
        }
        var targets: [String: String] = [:]
        for path in paths where path.hasPrefix("/") && path.count > 1 {
            let parent = (path as NSString).deletingLastPathComponent
            let name = (path as NSString).lastPathComponent
            let node = try await nodes(parent == "/" ? "" : parent)?.first { $0.name == name }
            if let node, node.type == "symlink" { targets[path] = node.linktarget ?? "" }
        }
        return targets
    }

    /// Streams one file of a snapshot (a database dump) into `consumer`'s standard input — no
    /// temporary file. Fails when restic or the consumer fails, with the consumer's last words.
    ///
    /// A `filter` rewrites the stream on its way (a thread of this process sits between the two).
    public func dump(
        _ repository: ResticRepository, snapshotID: String, path: String, into consumer: ProducerCommand, filter: (any StreamFilter)? = nil
    ) async throws {
        try ArgumentCheck.snapshotID(snapshotID)
        if Task.isCancelled { throw ResticError.interrupted() }
        let base = ExecutableLookup.baseEnvironment()
        guard let consumerPath = ExecutableLookup.resolve(consumer.executable, path: consumer.environment["PATH"] ?? base["PATH"]) else {
            throw ResticError(kind: .other, message: "the command \"\(consumer.displayName)\" was not found, so nothing was restored")
        }
        let restic = RunningCommand(
            executable: executablePath, arguments: arguments(for: repository, ["dump", snapshotID, path], json: false, noLock: true),
            environment: environment(for: repository), stdout: nil, stderr: OutputReader(tailLimit: 64 * 1024))
        var consumerEnvironment = base
        consumerEnvironment.merge(consumer.environment) { _, new in new }
        let sink = RunningCommand(
            executable: consumerPath, arguments: consumer.arguments, environment: consumerEnvironment,
            stdout: OutputReader(tailLimit: 16 * 1024), stderr: OutputReader(tailLimit: 16 * 1024))
        let bridge = try BridgePipe()
        // With a filter: restic → bridge → filter thread → feed → consumer.
        let feed = filter == nil ? nil : try BridgePipe()
        let grace = interruptGracePeriod
        let ended: (restic: Termination, consumer: Termination)? = try await withTaskCancellationHandler {
            guard try await sink.start(stdin: feed?.reading ?? bridge.reading) else {
                bridge.closeReading()
                bridge.closeWriting()
                feed?.closeReading()
                feed?.closeWriting()
                return nil
            }
            if let feed { feed.closeReading() } else { bridge.closeReading() }
            let started = (try? await restic.start(stdoutHandle: bridge.writing)) ?? false
            bridge.closeWriting()
            if let feed, let filter {
                if started {
                    StreamFilterThread.start(filter, from: bridge, to: feed)
                } else {
                    bridge.closeReading()
                    feed.closeWriting()
                }
            }
            guard started else { return (Termination(status: 127, signaled: false), await sink.waitForEnd()) }
            async let resticEnd = restic.waitForEnd()
            let consumerEnd = await sink.waitForEnd()
            return (await resticEnd, consumerEnd)
        } onCancel: {
            restic.child.stop(grace: grace)
            sink.child.stop(grace: grace)
        }
        guard let ended, !restic.child.wasStopped, !sink.child.wasStopped else { throw ResticError.interrupted("the restore") }
        let secrets = repository.secretValues + consumer.secretValues
        // A consumer that stops reading ends restic with SIGPIPE: then the consumer's words are the cause.
        let resticLostConsumer = ended.restic.signaled && ended.restic.status == SIGPIPE && !ended.consumer.succeeded
        if !ended.restic.succeeded && !resticLostConsumer {
            let output = CommandOutput(termination: ended.restic, stdout: "", stderr: restic.stderr.tailText)
            throw failure(output, repository, operation: "reading \(path) from snapshot \(snapshotID.prefix(8))")
        }
        if !ended.consumer.succeeded {
            let words = Redactor(secrets: secrets).redact(sink.stderr.tailText).split(whereSeparator: \.isNewline).suffix(8).joined(separator: "\n")
            throw ResticError(
                kind: .other, exitCode: ended.consumer.signaled ? nil : ended.consumer.status,
                message: "\(consumer.displayName) \(ended.consumer.summary) while restoring \(path)" + (words.isEmpty ? "" : ": " + words))
        }
    }

    /// `restic dump` of a file (as is) or folder (`archive`: tar or zip), handed to `onChunk` in
    /// parts of up to 1 MiB as restic writes them — nothing is kept or written to disk.
    public func dumpChunks(
        _ repository: ResticRepository, snapshotID: String, path: String, archive: String?,
        onChunk: @escaping @Sendable (Data) async throws -> Void
    ) async throws {
        try ArgumentCheck.snapshotID(snapshotID)
        if let archive, !["tar", "zip"].contains(archive) {
            throw ResticError.invalidArgument("the archive format \"\(archive)\" is not tar or zip")
        }
        guard path.hasPrefix("/"), !path.contains("\n") else { throw ResticError.invalidArgument("\"\(path)\" is not a path in the snapshot") }
        var command = ["dump"]
        if let archive { command.append("--archive=\(archive)") }
        command += [snapshotID, path]
        let restic = RunningCommand(
            executable: executablePath, arguments: arguments(for: repository, command, json: false, noLock: true),
            environment: environment(for: repository), stdout: nil, stderr: OutputReader(tailLimit: 64 * 1024))
        let bridge = try BridgePipe()
        let chunks = AsyncThrowingStream<Data, any Error> { continuation in
            let reader = Thread {
                while true {
                    let data = (try? bridge.reading.read(upToCount: 1 << 20)) ?? Data()
                    if data.isEmpty { break }
                    continuation.yield(data)
                }
                continuation.finish()
            }
            reader.name = "ResticKit.dump"
            reader.start()
        }
        let grace = interruptGracePeriod
        let termination: Termination? = try await withTaskCancellationHandler {
            guard try await restic.start(stdoutHandle: bridge.writing) else {
                bridge.closeWriting()
                return nil
            }
            bridge.closeWriting()
            do {
                for try await chunk in chunks { try await onChunk(chunk) }
            } catch {
                restic.child.stop(grace: grace)
                _ = await restic.waitForEnd()
                throw error
            }
            return await restic.waitForEnd()
        } onCancel: {
            restic.child.stop(grace: grace)
        }
        guard let termination, !restic.child.wasStopped else { throw ResticError.interrupted("the download") }
        if !termination.succeeded {
            throw failure(
                CommandOutput(termination: termination, stdout: "", stderr: restic.stderr.tailText), repository,
                operation: "reading \(path) from snapshot \(snapshotID.prefix(8))")
        }
    }

    /// A node line of `restic ls --json` (the snapshot line and anything else give nil).
    static func node(fromJSONLine line: String) -> ResticNode? {
        struct Line: Decodable {
            var struct_type: String?
            var name: String?
            var type: String?
            var path: String?
            var size: Int64?
            var mode: UInt32?
            var mtime: String?
            var uid: UInt32?
            var gid: UInt32?
        }
        guard let decoded = try? JSONDecoder().decode(Line.self, from: Data(line.utf8)), decoded.struct_type == "node",
            let path = decoded.path, let type = decoded.type
        else { return nil }
        return ResticNode(
            path: path, name: decoded.name ?? (path as NSString).lastPathComponent, type: type, size: decoded.size ?? 0,
            mode: (decoded.mode ?? 0) & 0o7777, modifiedAt: decoded.mtime.flatMap(ResticDate.parse), uid: decoded.uid ?? 0, gid: decoded.gid ?? 0)
    }
}

/// Rewrites a stream chunk by chunk on its way from restic to a consumer (e.g. puts a guard in
/// front of a database dump). Called from one thread, in order.
public protocol StreamFilter: AnyObject, Sendable {
    /// What to pass on for the next part of the stream (may hold back an incomplete line).
    func filter(_ chunk: Data) -> Data
    /// What to pass on once the stream ended.
    func finish() -> Data
}

/// The thread that copies restic's output through a filter into the consumer's input.
enum StreamFilterThread {
    static func start(_ filter: any StreamFilter, from source: BridgePipe, to sink: BridgePipe) {
        let thread = Thread {
            // A consumer that exits early makes writes fail with EPIPE; SIGPIPE (directed at this
            // thread) stays blocked here so it cannot end the agent.
            var pipeSignal = sigset_t()
            sigemptyset(&pipeSignal)
            sigaddset(&pipeSignal, SIGPIPE)
            pthread_sigmask(SIG_BLOCK, &pipeSignal, nil)
            defer {
                source.closeReading()
                sink.closeWriting()
            }
            while true {
                let data = (try? source.reading.read(upToCount: 1 << 20)) ?? Data()
                let out = data.isEmpty ? filter.finish() : filter.filter(data)
                if !out.isEmpty {
                    do { try sink.writing.write(contentsOf: out) } catch { return }
                }
                if data.isEmpty { return }
            }
        }
        thread.name = "ResticKit.filter"
        thread.start()
    }
}
