import BackupCore
import Crypto
import Foundation
import ResticKit

/// A restore drill (docs/operations.md, "Restore drills"): a random sample of a snapshot's files
/// restored into a scratch directory (0700, removed afterwards whatever happens) and compared with
/// what the snapshot recorded (and with the source when it is still there unchanged), then each
/// dump loaded into a throw-away database, counted and asserted on, then dropped. The outcome is
/// evidence, not an exception: a damaged file is a failed check that names it.
struct DrillExecution {
    let state: AgentState
    let identity: AgentIdentity
    let runID: String
    let log: RunLog

    /// Most failed checks listed one by one (the rest are counted in the summary).
    static let listedFailures = 50
    /// Include paths per `restic restore` (argument lists stay far below the kernel's limit).
    static let includesPerRestore = 400

    func perform(
        _ plan: RestorePlan, destination: Destination, access: RepositoryAccess, progress: @escaping @Sendable (RunProgress) async -> Void
    ) async throws -> DrillEvidence {
        let plan = try plan.validated()
        let options = plan.drill ?? DrillOptions()
        let restic = try await Restic.detect()
        let repository = try JobRunner.repository(of: destination, access: access)
        log("drill of snapshot \(plan.snapshotID) of server \(plan.sourceServerID) from \(destination.name) (\(repository.displayLocation))")
        let snapshots = try await restic.snapshots(repository, tags: [], host: plan.sourceServerID).filter { snapshot in
            plan.resticSnapshotIDs.contains { $0.hasPrefix(snapshot.shortID) || snapshot.id.hasPrefix($0) }
        }
        guard !snapshots.isEmpty else {
            throw AgentError("snapshot \(plan.snapshotID) has no restic snapshots at \(destination.name) (this copy was pruned)")
        }
        let scratch = try Self.makeScratch(under: state.directory + "/drills", runID: runID)
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        var evidence = DrillEvidence()
        if plan.files {
            guard let files = snapshots.first(where: { $0.tags.contains("source=files") }) else {
                throw AgentError("snapshot \(plan.snapshotID) has no files at \(destination.name) (this copy was pruned)")
            }
            await progress(RunProgress(percentDone: 0, phase: "drill: restoring a sample of the files"))
            try await drillFiles(
                restic: restic, repository: repository, snapshotID: files.id, sample: options.sample, into: scratch + "/files",
                compareWithSource: plan.sourceServerID == identity.serverID, evidence: &evidence)
        }
        let assertions = try options.assertions.map { try SQLAssertion.parse($0) }
        for database in plan.databases {
            await progress(RunProgress(percentDone: 0.5, phase: "drill: loading \(database.engine.rawValue) \(database.name)"))
            let drill = DatabaseDrill(source: database, scratch: scratch, runID: runID, log: log)
            let restorer = DatabaseRestorer(restore: database, overwrite: false, log: log)
            guard let dump = snapshots.first(where: { $0.tags.contains(restorer.sourceTag) }) else {
                evidence.checks.append(
                    DrillCheck(name: "\(database.engine.rawValue) \(database.name) loads", passed: false, detail: "the snapshot has no dump of it"))
                continue
            }
            await drill.perform(restic: restic, repository: repository, snapshotID: dump.id, assertions: assertions, evidence: &evidence)
        }
        if evidence.checks.isEmpty {
            evidence.checks.append(DrillCheck(name: "restore", passed: true, detail: "the snapshot holds no files or dumps to check"))
        }
        await progress(RunProgress(percentDone: 1, bytesDone: evidence.restoredBytes, totalBytes: evidence.restoredBytes, phase: "done"))
        let failed = evidence.failures.count
        log(failed == 0 ? "drill passed: \(evidence.checks.count) checks" : "drill failed: \(failed) of \(evidence.checks.count) checks failed")
        return evidence
    }

    /// A fresh 0700 directory for this run's drill (any leftover of the same run is removed first).
    static func makeScratch(under parent: String, runID: String) throws -> String {
        try SafeName.check(runID, what: "run id")
        try SecureFile.makeDirectory(parent)
        let path = parent + "/" + runID
        try? FileManager.default.removeItem(atPath: path)
        guard mkdir(path, 0o700) == 0 else {
            throw AgentError("cannot create the drill's scratch directory \(path) (\(String(cString: strerror(errno))))")
        }
        return path
    }

    func drillFiles(
        restic: Restic, repository: ResticRepository, snapshotID: String, sample: DrillSample, into target: String, compareWithSource: Bool,
        evidence: inout DrillEvidence
    ) async throws {
        let collected = FileRestore.Collector()
        try await restic.ls(repository, snapshotID: snapshotID) { node in
            if node.type == "file" { collected.add(node) }
        }
        let nodes = Dictionary(collected.nodes.map { ($0.path, $0) }, uniquingKeysWith: { first, _ in first })
        evidence.snapshotFiles = Int64(nodes.count)
        evidence.snapshotBytes = nodes.values.reduce(0) { $0 + $1.size }
        var generator = SystemRandomNumberGenerator()
        let chosen = sample.sample(nodes.values.map { (path: $0.path, size: $0.size) }, using: &generator).sorted()
        guard !chosen.isEmpty else {
            evidence.checks.append(DrillCheck(name: "files", passed: true, detail: "the snapshot holds no regular files"))
            return
        }
        log("restoring \(chosen.count) of \(nodes.count) files (sample \(sample.text)) into the drill's scratch directory")
        let started = Date()
        var damaged: [String: String] = [:]
        var start = 0
        while start < chosen.count {
            let batch = Array(chosen[start..<min(start + Self.includesPerRestore, chosen.count)])
            let found = try await restic.restoreReportingDamage(repository, snapshotID: snapshotID, target: target, includes: batch)
            damaged.merge(found) { $0 + "; " + $1 }
            start += batch.count
        }
        evidence.restoreSeconds += Date().timeIntervalSince(started)
        var failures: [DrillCheck] = []
        var matched = 0
        var comparedWithSource = 0
        for path in chosen {
            guard let node = nodes[path] else { continue }
            evidence.restoredFiles += 1
            evidence.restoredBytes += node.size
            let restored = target + path
            if let reason = damaged[path] {
                failures.append(DrillCheck(name: "file \(path)", passed: false, detail: "restic could not restore it: \(reason)"))
                continue
            }
            guard let size = Self.size(of: restored) else {
                failures.append(DrillCheck(name: "file \(path)", passed: false, detail: "missing after the restore"))
                continue
            }
            guard size == node.size else {
                failures.append(
                    DrillCheck(name: "file \(path)", passed: false, detail: "restored \(size) bytes, the snapshot recorded \(node.size)"))
                continue
            }
            if compareWithSource, let source = Self.unchangedSource(path, as: node) {
                comparedWithSource += 1
                let sourceHash = Self.sha256(of: source)
                let restoredHash = Self.sha256(of: restored)
                if sourceHash == nil || sourceHash != restoredHash {
                    failures.append(
                        DrillCheck(
                            name: "file \(path)", passed: false,
                            detail: "its content differs from the source file, which has the snapshot's size and time"))
                    continue
                }
            }
            matched += 1
        }
        for failure in failures.prefix(Self.listedFailures) { log("drill: \(failure.name): \(failure.detail ?? "failed")") }
        evidence.checks += failures.prefix(Self.listedFailures)
        evidence.checks.append(
            DrillCheck(
                name: "files", passed: failures.isEmpty,
                detail:
                    "\(matched) of \(chosen.count) sampled files restored whole (sizes as recorded, every block's MAC and hash verified by restic)"
                    + (comparedWithSource > 0 ? "; \(comparedWithSource) compared byte for byte with the unchanged source" : "")
                    + (failures.count > Self.listedFailures ? "; \(failures.count) failed, \(Self.listedFailures) listed" : "")))
    }

    static func size(of path: String) -> Int64? {
        var info = stat()
        guard lstat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { return nil }
        return Int64(info.st_size)
    }

    /// The source file on this server when it still has the snapshot's size and modification time.
    static func unchangedSource(_ path: String, as node: ResticNode) -> String? {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path),
            attributes[.type] as? FileAttributeType == .typeRegular,
            (attributes[.size] as? NSNumber)?.int64Value == node.size,
            let modified = attributes[.modificationDate] as? Date, let recorded = node.modifiedAt,
            abs(modified.timeIntervalSince(recorded)) < 0.001
        else { return nil }
        return path
    }

    static func sha256(of path: String) -> String? {
        guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? handle.close() }
        var hasher = SHA256()
        do {
            // `read(upToCount:)` answers nil (or no bytes) at the end of the file.
            while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty { hasher.update(data: chunk) }
        } catch {
            return nil
        }
        return hasher.finalize().map { String(format: "%02x", $0) }.joined()
    }
}
