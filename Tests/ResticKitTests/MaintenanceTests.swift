import Foundation
import Testing

@testable import ResticKit

/// Repository care with a real restic: prune apart from forget, waiting for another's lock,
/// statistics, and `restic copy` into a second repository.
@Suite("prune, lock waits, stats and copy", .enabled(if: ResticAvailability.isInstalled, ResticAvailability.reason))
struct MaintenanceTests {
    @Test("forget without prune keeps the data; prune removes what no snapshot uses")
    func pruneRemovesUnreferencedData() async throws {
        try await RepoFixture.with { fixture in
            let restic = fixture.restic
            let repository = fixture.repository
            let tree = fixture.root.appendingPathComponent("data")
            try FileManager.default.createDirectory(at: tree, withIntermediateDirectories: true)
            var generator = SplitMix64(seed: 7)
            for round in 0..<3 {
                let bytes = (0..<(512 * 1024 / 8)).flatMap { _ in withUnsafeBytes(of: generator.next()) { Array($0) } }
                try Data(bytes).write(to: tree.appendingPathComponent("file"))
                _ = try await restic.backup(
                    repository, paths: [tree.path], excludes: [], tags: ["job=A", "round=\(round)"], host: "h", progress: { _ in })
            }
            let before = try await restic.stats(repository)
            let packsBefore = diskUsage(fixture.repositoryPath + "/data")
            #expect(before.snapshotCount == 3)
            #expect(before.rawDataSize >= 3 * 512 * 1024, "\(before)")
            #expect(before.totalSize >= 3 * 512 * 1024, "\(before)")

            let forgotten = try await restic.forget(repository, tags: ["job=A"], host: "h", keep: ["--keep-last", "1"], prune: false)
            #expect(forgotten.removedIDs.count == 2)
            let afterForget = try await restic.stats(repository)
            #expect(afterForget.snapshotCount == 1)
            // raw-data counts what the remaining snapshots use; the packs on disk are all still there.
            #expect(afterForget.rawDataSize < before.rawDataSize / 2)
            #expect(diskUsage(fixture.repositoryPath + "/data") == packsBefore, "forget alone removed data")

            let pruned = try await restic.prune(repository, maxUnused: "0%", maxRepackSize: "\(1 << 30)")
            #expect(pruned.report.contains { $0.hasPrefix("total prune:") }, "\(pruned.report)")
            let afterPrune = try await restic.stats(repository)
            #expect(afterPrune.rawDataSize == afterForget.rawDataSize)
            let packsAfter = diskUsage(fixture.repositoryPath + "/data")
            #expect(packsAfter < packsBefore / 2, "\(packsBefore) → \(packsAfter)")
            #expect(packsAfter >= 512 * 1024)
            #expect(try await restic.check(repository, readDataSubset: "100%").isHealthy)
        }
    }

    @Test("prune values that could be read as options are refused")
    func pruneArguments() async throws {
        try await RepoFixture.with { fixture in
            await #expect(throws: ResticError.self) { _ = try await fixture.restic.prune(fixture.repository, maxUnused: "--dry-run") }
            await #expect(throws: ResticError.self) { _ = try await fixture.restic.prune(fixture.repository, maxRepackSize: "1G x") }
        }
    }

    /// `restic key passwd` takes the exclusive lock, then reads the new password from a FIFO: the
    /// lock is held until the test writes to it, exactly like a long prune.
    @Test("a backup waits for an exclusive lock (a prune's) instead of failing, up to the lock wait")
    func backupWaitsForExclusiveLock() async throws {
        try await RepoFixture.with { fixture in
            let fifo = fixture.root.appendingPathComponent("new-password").path
            #expect(mkfifo(fifo, 0o600) == 0)
            let holder = Process()
            holder.executableURL = URL(fileURLWithPath: fixture.restic.executablePath)
            holder.arguments = ["-r", fixture.repositoryPath, "key", "passwd", "--new-password-file", fifo]
            holder.environment = fixture.repository.environment.merging(["PATH": "/usr/bin:/bin"]) { _, new in new }
            holder.standardOutput = FileHandle.nullDevice
            holder.standardError = FileHandle.nullDevice
            try holder.run()
            defer { if holder.isRunning { holder.terminate() } }
            #expect(try await eventually { fixture.resticLockCount() > 0 }, "restic never took its exclusive lock")
            let tree = try fixture.makeTree("t", files: 2, size: 1000)

            // Without a lock wait the backup fails at once, in plain words.
            let error = await #expect(throws: ResticError.self) {
                _ = try await fixture.restic.backup(fixture.repository, paths: [tree.path], excludes: [], tags: [], host: "h", progress: { _ in })
            }
            #expect(error?.kind == .locked)

            // A too short wait still fails, after waiting.
            var short = fixture.restic
            short.retryLock = .seconds(2)
            let started = ContinuousClock.now
            await #expect(throws: ResticError.self) {
                _ = try await short.backup(fixture.repository, paths: [tree.path], excludes: [], tags: [], host: "h", progress: { _ in })
            }
            #expect(ContinuousClock.now - started >= .seconds(2))

            // With a wait, the backup waits for the lock's release and then succeeds.
            var patient = fixture.restic
            patient.retryLock = .seconds(60)
            let backup = Task {
                try await patient.backup(fixture.repository, paths: [tree.path], excludes: [], tags: ["waited"], host: "h", progress: { _ in })
            }
            try await Task.sleep(for: .seconds(3))
            // Release: the same password, so the fixture can still open the repository.
            let writer = try FileHandle(forWritingTo: URL(fileURLWithPath: fifo))
            writer.write(Data((fixture.password + "\n").utf8))
            try writer.close()
            holder.waitUntilExit()
            #expect(holder.terminationStatus == 0)
            let summary = try await backup.value
            #expect(summary.filesNew == 2)
            #expect(try await fixture.restic.snapshots(fixture.repository, tags: ["waited"]).count == 1)
        }
    }

    @Test("restic copy of a job's snapshots into a new repository with the same chunker restores byte for byte")
    func copyIntoSecondRepository() async throws {
        try await RepoFixture.with { fixture in
            let restic = fixture.restic
            let source = fixture.repository
            let tree = try fixture.makeTree("site", files: 6, size: 40_000)
            let other = try fixture.makeTree("other", files: 1, size: 100)
            _ = try await restic.backup(source, paths: [tree.path], excludes: [], tags: ["job=A"], host: "h", progress: { _ in })
            _ = try await restic.backup(source, paths: [tree.path], excludes: [], tags: ["job=A"], host: "h", progress: { _ in })
            _ = try await restic.backup(source, paths: [other.path], excludes: [], tags: ["job=B"], host: "h", progress: { _ in })

            let targetPassword = fixture.root.appendingPathComponent("target-password")
            try writeSecretFile(targetPassword, "target-\(UUID().uuidString)")
            let target = ResticRepository(
                location: fixture.root.appendingPathComponent("offsite").path,
                environment: ["RESTIC_PASSWORD_FILE": targetPassword.path, "RESTIC_CACHE_DIR": fixture.root.appendingPathComponent("cache2").path])
            #expect(try await restic.initialize(target, copyingChunkerParametersFrom: source))
            #expect(try await restic.initialize(target, copyingChunkerParametersFrom: source) == false)
            let config = { (repository: ResticRepository) async throws -> String in
                let output = try await restic.run(repository, ["cat", "config"], json: false)
                let object = try JSONSerialization.jsonObject(with: Data(output.stdout.utf8)) as? [String: Any]
                return "\(object?["chunker_polynomial"] ?? "none")"
            }
            #expect(try await config(source) == (try await config(target)))

            let copied = try await restic.copy(from: source, to: target, tags: ["job=A"], host: "h")
            #expect(copied.count == 2)
            #expect(try await restic.snapshots(target, tags: ["job=B"]).isEmpty)
            // A second copy adds nothing: restic skips snapshots the target holds.
            #expect(try await restic.copy(from: source, to: target, tags: ["job=A"], host: "h").count == 2)

            let restored = fixture.root.appendingPathComponent("restored").path
            try await restic.restore(target, snapshotID: try #require(copied.last?.id), target: restored, includes: [])
            let files = try FileManager.default.subpathsOfDirectory(atPath: tree.path).filter { !$0.hasSuffix("even") && !$0.hasSuffix("odd") }
            #expect(files.count == 6)
            for file in files {
                let original = try Data(contentsOf: tree.appendingPathComponent(file))
                let copy = try Data(contentsOf: URL(fileURLWithPath: restored + tree.path + "/" + file))
                #expect(original == copy, "\(file) differs")
            }
        }
    }

    @Test("the source's passwords reach restic copy as RESTIC_FROM_* variables; clashing credentials are refused")
    func fromEnvironment() throws {
        let source = ResticRepository(location: "/srv/a", environment: ["RESTIC_PASSWORD_FILE": "/p/a", "AWS_ACCESS_KEY_ID": "K"])
        let target = ResticRepository(location: "s3:https://s3/b", environment: ["RESTIC_PASSWORD": "pw", "AWS_ACCESS_KEY_ID": "K"])
        let environment = try Restic.fromEnvironment(source, target: target)
        #expect(environment["RESTIC_FROM_REPOSITORY"] == "/srv/a")
        #expect(environment["RESTIC_FROM_PASSWORD_FILE"] == "/p/a")
        #expect(environment["RESTIC_PASSWORD_FILE"] == nil)
        var clashing = target
        clashing.environment["AWS_ACCESS_KEY_ID"] = "OTHER"
        #expect(throws: ResticError.self) { try Restic.fromEnvironment(source, target: clashing) }
    }
}

/// The bytes of the files below `path`.
func diskUsage(_ path: String) -> Int64 {
    var total: Int64 = 0
    let enumerator = FileManager.default.enumerator(atPath: path)
    while let name = enumerator?.nextObject() as? String {
        let attributes = try? FileManager.default.attributesOfItem(atPath: path + "/" + name)
        if attributes?[.type] as? FileAttributeType == .typeRegular { total += (attributes?[.size] as? NSNumber)?.int64Value ?? 0 }
    }
    return total
}

/// `restic copy` from a local repository into an S3 one (moto; MZPANEL_TEST_S3_URL): local → offsite
/// without reading the source again, the S3 credentials and both passwords only in restic's environment.
@Suite(
    "restic copy into S3",
    .enabled(
        if: ResticAvailability.isInstalled && ProcessInfo.processInfo.environment["MZPANEL_TEST_S3_URL"] != nil, "MZPANEL_TEST_S3_URL is not set"))
struct S3CopyTests {
    @Test("a job's snapshots copied local → S3 restore byte for byte")
    func copyIntoS3() async throws {
        let url = try #require(ProcessInfo.processInfo.environment["MZPANEL_TEST_S3_URL"])
        try await RepoFixture.with { fixture in
            let tree = try fixture.makeTree("site", files: 4, size: 30_000)
            _ = try await fixture.restic.backup(fixture.repository, paths: [tree.path], excludes: [], tags: ["job=A"], host: "h", progress: { _ in })
            let targetPassword = fixture.root.appendingPathComponent("s3-password")
            try writeSecretFile(targetPassword, "s3-\(UUID().uuidString)")
            let target = ResticRepository(
                location: "s3:\(url)/copy-\(UUID().uuidString.prefix(8).lowercased())/repo",
                environment: [
                    "RESTIC_PASSWORD_FILE": targetPassword.path, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing-secret",
                    "AWS_DEFAULT_REGION": "us-east-1", "RESTIC_CACHE_DIR": fixture.root.appendingPathComponent("cache-s3").path,
                ])
            #expect(try await fixture.restic.initialize(target, copyingChunkerParametersFrom: fixture.repository))
            let copied = try await fixture.restic.copy(from: fixture.repository, to: target, tags: ["job=A"])
            #expect(copied.count == 1)
            let restored = fixture.root.appendingPathComponent("from-s3").path
            try await fixture.restic.restore(target, snapshotID: try #require(copied.first?.id), target: restored, includes: [])
            for file in try FileManager.default.subpathsOfDirectory(atPath: tree.path) where file.hasSuffix(".bin") {
                #expect(
                    try Data(contentsOf: tree.appendingPathComponent(file))
                        == Data(contentsOf: URL(fileURLWithPath: restored + tree.path + "/" + file)))
            }
        }
    }
}
