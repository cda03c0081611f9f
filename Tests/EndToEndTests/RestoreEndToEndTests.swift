import Crypto
import Foundation
import Testing

/// Restores end to end: a tree with every awkward kind of entry comes back byte for byte with its
/// modes, types, link targets and times; restoring over changed files needs confirmation; the
/// agent restores with the hub down; a second server restores another's S3 copy once sealed.
@Suite("restore end to end", .serialized, .enabled(if: Fleet.available, "mzpanel, mzpanel-agent or restic is missing"))
struct RestoreEndToEndTests {
    /// One entry of a tree, everything a restore must keep.
    struct Entry: Equatable, CustomStringConvertible {
        var type: String
        var mode: Int
        var content: String?
        var link: String?
        var modified: Int?
        var description: String { "\(type) \(String(mode, radix: 8)) \(content ?? link ?? "") \(modified ?? 0)" }
    }

    /// Every entry below `root`, by relative path.
    static func snapshot(of root: URL) throws -> [String: Entry] {
        var entries: [String: Entry] = [:]
        let manager = FileManager.default
        let paths = try manager.subpathsOfDirectory(atPath: root.path)
        for relative in paths {
            let path = root.path + "/" + relative
            let attributes = try manager.attributesOfItem(atPath: path)
            let type = attributes[.type] as? FileAttributeType
            let mode = (attributes[.posixPermissions] as? NSNumber)?.intValue ?? -1
            let modified = (attributes[.modificationDate] as? Date).map { Int($0.timeIntervalSince1970) }
            switch type {
            case .typeSymbolicLink?:
                entries[relative] = Entry(type: "symlink", mode: 0, link: try manager.destinationOfSymbolicLink(atPath: path))
            case .typeDirectory?:
                entries[relative] = Entry(type: "dir", mode: mode)
            default:
                let digest = SHA256.hash(data: try Data(contentsOf: URL(fileURLWithPath: path))).map { String(format: "%02x", $0) }.joined()
                entries[relative] = Entry(type: "file", mode: mode, content: digest, modified: modified)
            }
        }
        return entries
    }

    /// Nested directories, odd names (spaces, unicode, a newline), empty and large files, modes,
    /// symlinks (one dangling), fixed times.
    static func awkwardTree(in directory: URL) throws -> URL {
        let root = directory.appendingPathComponent("awkward")
        let manager = FileManager.default
        let deep = root.appendingPathComponent("a/b/c d/é")
        try manager.createDirectory(at: deep, withIntermediateDirectories: true)
        func write(_ relative: String, _ data: Data, mode: Int) throws {
            let url = root.appendingPathComponent(relative)
            try data.write(to: url)
            try manager.setAttributes(
                [.posixPermissions: mode, .modificationDate: Date(timeIntervalSince1970: 1_700_000_000 + Double(relative.count))],
                ofItemAtPath: url.path)
        }
        try write("with space.txt", Data("spaces\n".utf8), mode: 0o644)
        try write("ünïcødé-文件.txt", Data("unicode\n".utf8), mode: 0o640)
        try write("new\nline.txt", Data("a newline in the name\n".utf8), mode: 0o600)
        try write("empty", Data(), mode: 0o644)
        try write("a/b/c d/é/script.sh", Data("#!/bin/sh\necho hi\n".utf8), mode: 0o755)
        var large = Data(count: 12 * 1024 * 1024)
        large.withUnsafeMutableBytes { buffer in
            var state: UInt64 = 0x9E3779B97F4A7C15
            for index in 0..<buffer.count {
                state = state &* 6364136223846793005 &+ 1442695040888963407
                buffer[index] = UInt8(truncatingIfNeeded: state >> 33)
            }
        }
        try write("a/large.bin", large, mode: 0o600)
        try manager.createSymbolicLink(atPath: root.appendingPathComponent("link-to-script").path, withDestinationPath: "a/b/c d/é/script.sh")
        try manager.createSymbolicLink(atPath: root.appendingPathComponent("a/dangling").path, withDestinationPath: "/nonexistent/target")
        try manager.setAttributes([.posixPermissions: 0o750], ofItemAtPath: root.appendingPathComponent("a/b").path)
        return root
    }

    /// A fleet with one agent running, a local destination and a job over `tree`, run once.
    func backedUp(_ tree: (URL) throws -> URL) async throws -> (Fleet, Fleet.Agent, URL, String) {
        let fleet = try await Fleet()
        let agent = try await fleet.enroll("web-1")
        _ = try fleet.startDaemon(agent)
        _ = try await fleet.cli.run([
            "destinations", "add", "here", "--kind", "local", "--path", fleet.directory.appendingPathComponent("repos").path,
        ])
        let root = try tree(fleet.directory)
        let job = try await fleet.cli.run([
            "jobs", "add", "site", "--server", "web-1", "--kind", "full", "--path", root.path, "--schedule", "daily",
            "--destination", "here",
        ])
        #expect(job.status == 0, "\(job.stderr)")
        let run = try await fleet.cli.run(["jobs", "run", "site", "--wait", "--json"])
        #expect(run.object["status"] as? String == "succeeded", "\(run.stdout)\(run.stderr)")
        let snapshot = try #require((run.object["snapshot"] as? [String: Any])?["id"] as? String, "\(run.stdout)")
        return (fleet, agent, root, snapshot)
    }

    @Test("an awkward tree restores elsewhere identically: bytes, modes, types, link targets, times")
    func filesRestoreElsewhere() async throws {
        let (fleet, _, tree, snapshot) = try await backedUp(Self.awkwardTree)
        defer { fleet.shutdown() }
        let original = try Self.snapshot(of: tree)
        #expect(original.count >= 12, "\(original.keys.sorted())")
        let target = fleet.directory.appendingPathComponent("restored")
        let restored = try await fleet.cli.run(["restore", snapshot, "--target", target.path, "--wait", "--json"])
        #expect(restored.status == 0, "\(restored.stdout)\(restored.stderr)")
        #expect(restored.object["trigger"] as? String == "restore")
        let plan = try #require(restored.object["restore"] as? [String: Any])
        #expect(plan["target"] as? String == target.path)
        let copy = try Self.snapshot(of: URL(fileURLWithPath: target.path + tree.path))
        #expect(
            copy == original,
            "differences: \(Set(copy.keys).symmetricDifference(original.keys)) \(original.filter { copy[$0.key] != $0.value }.map { "\($0.key): \($0.value) vs \(copy[$0.key].map(\.description) ?? "missing")" })"
        )

        // Only one folder, with --include.
        let partial = fleet.directory.appendingPathComponent("partial")
        let some = try await fleet.cli.run(["restore", snapshot, "--target", partial.path, "--include", tree.path + "/a/b", "--wait"])
        #expect(some.status == 0, "\(some.stdout)\(some.stderr)")
        let included = try Self.snapshot(of: URL(fileURLWithPath: partial.path + tree.path))
        #expect(included.keys.contains("a/b/c d/é/script.sh"))
        #expect(!included.keys.contains("with space.txt") && !included.keys.contains("a/large.bin"), "\(included.keys.sorted())")
    }

    @Test("browse and download: the first look lists the snapshot on its server, folders come from the hub; files and tar/zip folders stream through")
    func browse() async throws {
        let (fleet, _, tree, snapshot) = try await backedUp(Self.awkwardTree)
        defer { fleet.shutdown() }
        let top = try await fleet.cli.run(["snapshots", "browse", snapshot, tree.path, "--json"])
        #expect(top.status == 0, "\(top.stdout)\(top.stderr)")
        let entries = (top.object["entries"] as? [[String: Any]]) ?? []
        let byName = Dictionary(uniqueKeysWithValues: entries.compactMap { entry in (entry["name"] as? String).map { ($0, entry) } })
        #expect(Set(byName.keys) == ["a", "empty", "link-to-script", "new\nline.txt", "with space.txt", "ünïcødé-文件.txt"], "\(byName.keys.sorted())")
        #expect(byName["a"]?["type"] as? String == "dir")
        #expect(byName["link-to-script"]?["type"] as? String == "symlink")
        #expect(byName["ünïcødé-文件.txt"]?["mode"] as? String == "0640")
        #expect(byName["with space.txt"]?["size"] as? Int == 7)
        // Later folders are read from the hub at once (200, no new listing).
        let deep = try await fleet.api(
            "GET",
            "/api/v1/snapshots/\(snapshot)/tree?path=" + (tree.path + "/a/b/c d/é").addingPercentEncoding(
                withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "/")))!)
        #expect(deep["status"] as? String == "ready")
        #expect(((deep["entries"] as? [[String: Any]]) ?? []).compactMap { $0["name"] as? String } == ["script.sh"], "\(deep)")
        let text = try await fleet.cli.run(["snapshots", "browse", snapshot, tree.path + "/a"])
        #expect(text.stdout.contains("large.bin") && text.stdout.contains("dangling"), "\(text.stdout)")
        let bad = try await fleet.cli.run(["snapshots", "browse", snapshot, "../etc"])
        #expect(bad.status != 0 && bad.stderr.contains("absolute path"), "\(bad.stderr)")

        // Downloads stream from the server through the hub: a file as is, a folder as tar and zip.
        let file = fleet.directory.appendingPathComponent("downloaded.txt")
        let single = try await fleet.cli.run(["snapshots", "download", snapshot, tree.path + "/with space.txt", "-o", file.path])
        #expect(single.status == 0, "\(single.stdout)\(single.stderr)")
        #expect(try Data(contentsOf: file) == Data(contentsOf: tree.appendingPathComponent("with space.txt")))
        let archive = fleet.directory.appendingPathComponent("a.tar")
        let folder = try await fleet.cli.run(["snapshots", "download", snapshot, tree.path + "/a", "-o", archive.path])
        #expect(folder.status == 0, "\(folder.stdout)\(folder.stderr)")
        let unpacked = fleet.directory.appendingPathComponent("unpacked")
        try FileManager.default.createDirectory(at: unpacked, withIntermediateDirectories: true)
        let untar = try await CommandRunner(binary: URL(fileURLWithPath: "/bin/tar"), environment: ProcessInfo.processInfo.environment)
            .run(["-xf", archive.path, "-C", unpacked.path])
        #expect(untar.status == 0, "\(untar.stderr)")
        let large = FileManager.default.enumerator(atPath: unpacked.path)?.allObjects.compactMap { $0 as? String }.first { $0.hasSuffix("large.bin") }
        let extracted = try #require(large.map { unpacked.appendingPathComponent($0) }, "large.bin is in the tar")
        #expect(try Data(contentsOf: extracted) == Data(contentsOf: tree.appendingPathComponent("a/large.bin")))
        let zip = fleet.directory.appendingPathComponent("a.zip")
        let zipped = try await fleet.cli.run(["snapshots", "download", snapshot, tree.path + "/a", "--format", "zip", "-o", zip.path])
        #expect(zipped.status == 0, "\(zipped.stderr)")
        let names = try await CommandRunner(binary: URL(fileURLWithPath: "/usr/bin/python3"), environment: ProcessInfo.processInfo.environment)
            .run(["-c", "import sys, zipfile; print('\\n'.join(zipfile.ZipFile(sys.argv[1]).namelist()))", zip.path])
        #expect(names.stdout.contains("large.bin") && names.stdout.contains("script.sh"), "\(names.stdout)\(names.stderr)")
        let missing = try await fleet.cli.run(["snapshots", "download", snapshot, tree.path + "/nope.txt", "-o", file.path])
        #expect(missing.status != 0 && missing.stderr.contains("has no"), "\(missing.stderr)")
    }

    @Test("in place: changed files are not replaced without --overwrite; --dry-run writes nothing; --overwrite restores them")
    func inPlaceNeedsConfirmation() async throws {
        let (fleet, _, tree, snapshot) = try await backedUp(Self.awkwardTree)
        defer { fleet.shutdown() }
        let original = try Self.snapshot(of: tree)
        let changed = tree.appendingPathComponent("with space.txt")
        try Data("changed after the backup\n".utf8).write(to: changed)
        try FileManager.default.removeItem(at: tree.appendingPathComponent("empty"))

        let refused = try await fleet.cli.run(["restore", snapshot, "--wait", "--json"])
        #expect(refused.status != 0)
        let error = ((refused.object["results"] as? [[String: Any]])?.first?["error"] as? String) ?? ""
        #expect(error.contains("would replace 1 existing file"), "\(error)")
        #expect(try String(contentsOf: changed, encoding: .utf8) == "changed after the backup\n", "nothing was changed")

        // An include is a literal path: "/*" names an entry called "*" (none here), not every top-level entry.
        let star = try await fleet.cli.run(["restore", snapshot, "--include", "/*", "--wait", "--json"])
        #expect(star.object["status"] as? String == "succeeded", "\(star.stdout)\(star.stderr)")
        #expect(try String(contentsOf: changed, encoding: .utf8) == "changed after the backup\n", "\"/*\" overwrote the changed file")
        // A database name is an identifier, never a connection string.
        let misnamed = try await fleet.cli.run(["restore", snapshot, "--database", "postgresql:shop=dbname=shop"])
        #expect(misnamed.status != 0 && misnamed.stderr.contains("is not a database name"), "\(misnamed.stderr)")

        let dry = try await fleet.cli.run(["restore", snapshot, "--dry-run", "--wait"])
        #expect(dry.status == 0, "\(dry.stdout)\(dry.stderr)")
        #expect(dry.stdout.contains("with space.txt"), "the dry run names the file it would replace: \(dry.stdout)")
        #expect(!FileManager.default.fileExists(atPath: tree.appendingPathComponent("empty").path))

        let confirmed = try await fleet.cli.run(["restore", snapshot, "--overwrite", "--wait"])
        #expect(confirmed.status == 0, "\(confirmed.stdout)\(confirmed.stderr)")
        #expect(try Self.snapshot(of: tree) == original)
    }

    @Test("mzpanel-agent restore lists and restores from a local destination while the hub is down")
    func offlineAgentRestore() async throws {
        let (fleet, agent, tree, _) = try await backedUp(Self.awkwardTree)
        defer { fleet.shutdown() }
        fleet.stopHub()
        let listed = try await agent.run(["restore", "--destination", "here", "--list"])
        #expect(listed.status == 0, "\(listed.stdout)\(listed.stderr)")
        let line = try #require(listed.stdout.split(separator: "\n").first { $0.contains("files") }, "\(listed.stdout)")
        let resticID = String(line.split(separator: " ")[0])
        let target = fleet.directory.appendingPathComponent("offline")
        let restored = try await agent.run(["restore", resticID, "--destination", "here", "--target", target.path])
        #expect(restored.status == 0, "\(restored.stdout)\(restored.stderr)")
        #expect(try Self.snapshot(of: URL(fileURLWithPath: target.path + tree.path)) == Self.snapshot(of: tree))
        let again = try await agent.run(["restore", resticID, "--destination", "here", "--target", "/"])
        #expect(again.status == 0, "in place over identical files needs no confirmation: \(again.stderr)")
        let unknown = try await agent.run(["restore", resticID, "--destination", "nowhere", "--target", target.path])
        #expect(unknown.status != 0 && unknown.stderr.contains("knows no destination"), "\(unknown.stderr)")
    }

    @Test(
        "a second server restores the first one's S3 copy once the destination is sealed to it",
        .enabled(if: MotoS3.available, "MZPANEL_TEST_S3_URL is not set"))
    func crossServerFromS3() async throws {
        let s3 = try #require(MotoS3.url)
        let secrets = try OffsiteEndToEndTests.Secrets()
        let fleet = try await Fleet(plan: "plus")
        defer { fleet.shutdown() }
        let agentA = try await fleet.enroll("web-1")
        _ = try fleet.startDaemon(agentA)
        let added = try await fleet.cli.run(
            [
                "destinations", "add", "offsite", "--kind", "s3", "--endpoint", s3, "--bucket",
                "mzpanel-restore-" + UUID().uuidString.prefix(8).lowercased(),
                "--access-key-id-file", secrets.file("key-id").path, "--secret-access-key-file", secrets.file("secret").path,
                "--repository-password-file", secrets.file("password").path, "--recovery-key-out", secrets.file("recovery").path,
            ]
                + secrets.vaultArguments)
        #expect(added.status == 0, "\(added.stderr)")
        try await fleet.trust(agentA, vault: secrets.vaultArguments)
        let tree = try Self.awkwardTree(in: fleet.directory)
        let job = try await fleet.cli.run(
            [
                "jobs", "add", "site", "--server", "web-1", "--kind", "full", "--path", tree.path, "--schedule", "daily",
                "--destination", "offsite",
            ] + secrets.vaultArguments)
        #expect(job.status == 0, "\(job.stderr)")
        let run = try await fleet.cli.run(["jobs", "run", "site", "--wait", "--json"])
        let snapshot = try #require((run.object["snapshot"] as? [String: Any])?["id"] as? String, "\(run.stdout)\(run.stderr)")

        // Server B arrives later; before sealing, the hub says what to do.
        let agentB = try await fleet.enroll("web-2")
        _ = try fleet.startDaemon(agentB)
        let target = fleet.directory.appendingPathComponent("on-b")
        let early = try await fleet.cli.run(["restore", snapshot, "--server", "web-2", "--target", target.path])
        #expect(early.status != 0 && early.stderr.contains("not sealed to web-2"), "\(early.stderr)")
        let uncertified = try await fleet.cli.run(["destinations", "attach", "offsite", "--server", "web-2"] + secrets.vaultArguments)
        #expect(uncertified.status != 0 && uncertified.stderr.contains("not certified by your account key"), "\(uncertified.stderr)")
        try await fleet.trust(agentB, vault: secrets.vaultArguments)
        let attached = try await fleet.cli.run(["destinations", "attach", "offsite", "--server", "web-2"] + secrets.vaultArguments)
        #expect(attached.status == 0, "\(attached.stderr)")
        // Onto another server in an account with a vault: without the passphrase the order waits for a signature.
        let held = try await fleet.cli.run(["restore", snapshot, "--server", "web-2", "--target", target.path, "--wait"])
        #expect(held.status != 0 && held.stderr.contains("waits for your signature"), "\(held.stdout)\(held.stderr)")
        let restored = try await fleet.cli.run(
            ["restore", snapshot, "--server", "web-2", "--target", target.path, "--wait", "--json"] + secrets.vaultArguments)
        #expect(restored.status == 0, "\(restored.stdout)\(restored.stderr)")
        #expect(restored.object["serverID"] as? String == agentB.serverID)
        #expect(try Self.snapshot(of: URL(fileURLWithPath: target.path + tree.path)) == Self.snapshot(of: tree))
    }
}
