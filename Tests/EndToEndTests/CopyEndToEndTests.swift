import Foundation
import Testing

/// Copies between destinations end to end (docs/operations.md, "Repository care"): a real hub,
/// agent and restic copy a job's snapshots from one local destination to another with `restic
/// copy`; the target is created with the source's chunker parameters, the hub lists each snapshot
/// at both, and a restore from the copy gives back the same bytes.
@Suite("copies between destinations end to end", .serialized, .enabled(if: Fleet.available, "mzpanel, mzpanel-agent or restic is missing"))
struct CopyEndToEndTests {
    /// Every regular file below `root`, by relative path, with its bytes.
    static func files(_ root: URL) throws -> [String: Data] {
        var files: [String: Data] = [:]
        let enumerator = try #require(FileManager.default.enumerator(atPath: root.path))
        while let path = enumerator.nextObject() as? String {
            let url = root.appendingPathComponent(path)
            var directory: ObjCBool = false
            if FileManager.default.fileExists(atPath: url.path, isDirectory: &directory), !directory.boolValue {
                files[path] = try Data(contentsOf: url)
            }
        }
        return files
    }

    static func chunkerPolynomial(repository: String, passwordFile: String) async throws -> String? {
        let runner = CommandRunner(
            binary: URL(fileURLWithPath: "/usr/bin/restic"),
            environment: ["PATH": "/usr/bin:/bin", "HOME": NSTemporaryDirectory(), "RESTIC_PASSWORD_FILE": passwordFile])
        let result = try await runner.run(["-r", repository, "cat", "config", "--no-cache"])
        return (result.json as? [String: Any])?["chunker_polynomial"] as? String
    }

    @Test(
        "restic copy from one destination to another: the target holds the job's snapshots, the hub lists them there, a restore from it is identical")
    func copyAndRestore() async throws {
        let fleet = try await Fleet()
        defer { fleet.shutdown() }
        let agent = try await fleet.enroll("web-1")
        _ = try fleet.startDaemon(agent)
        let first = fleet.directory.appendingPathComponent("repos-first")
        let second = fleet.directory.appendingPathComponent("repos-second")
        try #require(try await fleet.cli.run(["destinations", "add", "here", "--kind", "local", "--path", first.path]).status == 0)
        try #require(try await fleet.cli.run(["destinations", "add", "usb", "--kind", "local", "--path", second.path]).status == 0)
        let root = try fleet.makeTree("site", files: 24)
        let added = try await fleet.cli.run([
            "jobs", "add", "site", "--server", "web-1", "--kind", "full", "--path", root.path, "--schedule", "daily", "--destination", "here",
            "--keep-last", "10", "--json",
        ])
        try #require(added.status == 0, "\(added.stderr)")
        let jobID = try #require(added.object["id"] as? String, "\(added.stdout)")
        var snapshotIDs: [String] = []
        for round in 0..<2 {
            if round == 1 { try Data("changed\n".utf8).write(to: root.appendingPathComponent("file-0.bin")) }
            let run = try await fleet.cli.run(["jobs", "run", "site", "--wait", "--json"])
            try #require(run.object["status"] as? String == "succeeded", "\(run.stdout)\(run.stderr)")
            snapshotIDs.append(try #require((run.object["snapshot"] as? [String: Any])?["id"] as? String, "\(run.stdout)"))
        }
        let expected = try Self.files(root)

        // Refused before the second destination is the job's, with the reason.
        let refused = try await fleet.cli.run(["jobs", "copy", "site", "--from", "here", "--to", "usb"])
        #expect(refused.status != 0)
        #expect(refused.stderr.contains("not a destination of job site"), "\(refused.stderr)")

        let edited = try await fleet.cli.run(["jobs", "edit", "site", "--destination", "here", "--destination", "usb"])
        try #require(edited.status == 0, "\(edited.stderr)")
        let copy = try await fleet.cli.run(["jobs", "copy", "site", "--from", "here", "--to", "usb", "--wait", "--json"])
        #expect(copy.status == 0, "\(copy.stdout)\(copy.stderr)")
        #expect(copy.object["trigger"] as? String == "copy")
        #expect(copy.object["status"] as? String == "succeeded", "\(copy.stdout)")
        let result = try #require((copy.object["results"] as? [[String: Any]])?.first)
        #expect((result["copiedSnapshots"] as? [[String: Any]])?.count == 2, "\(result)")
        #expect((copy.object["logExcerpt"] as? String)?.contains("chunker parameters") == true, "\(copy.stdout)")

        // The second repository holds both snapshots, created with the first's chunker parameters.
        let passwords = agent.stateDir.appendingPathComponent("repository-passwords")
        let destinations = try await fleet.api("GET", "/api/v1/destinations")
        let ids = Dictionary(
            uniqueKeysWithValues: ((destinations["destinations"] as? [[String: Any]]) ?? []).compactMap { destination in
                (destination["name"] as? String).flatMap { name in (destination["id"] as? String).map { (name, $0) } }
            })
        let hereID = try #require(ids["here"])
        let usbID = try #require(ids["usb"])
        let firstRepository = first.appendingPathComponent(agent.serverID).path
        let secondRepository = second.appendingPathComponent(agent.serverID).path
        let secondPassword = passwords.appendingPathComponent(usbID).path
        let copied = try await Restic.snapshots(repository: secondRepository, passwordFile: secondPassword, tag: "job=\(jobID)")
        #expect(copied.count == 2, "\(copied)")
        let sourcePolynomial = try await Self.chunkerPolynomial(
            repository: firstRepository, passwordFile: passwords.appendingPathComponent(hereID).path)
        #expect(sourcePolynomial != nil)
        #expect(try await Self.chunkerPolynomial(repository: secondRepository, passwordFile: secondPassword) == sourcePolynomial)

        // The hub lists both snapshots at the second destination, each with a copy at both.
        let atUSB = try await fleet.api("GET", "/api/v1/snapshots?destination=usb")
        let listed = (atUSB["snapshots"] as? [[String: Any]]) ?? []
        #expect(Set(listed.compactMap { $0["id"] as? String }) == Set(snapshotIDs), "\(atUSB)")
        for snapshot in listed {
            let copies = (snapshot["copies"] as? [[String: Any]] ?? []).compactMap { $0["destinationID"] as? String }
            #expect(Set(copies) == [hereID, usbID], "\(snapshot)")
        }

        // A restore from the copy gives back the newest snapshot's bytes.
        let target = fleet.directory.appendingPathComponent("restored")
        let restored = try await fleet.cli.run([
            "restore", snapshotIDs[1], "--destination", "usb", "--target", target.path, "--wait", "--json",
        ])
        #expect(restored.status == 0, "\(restored.stdout)\(restored.stderr)")
        #expect((restored.object["restore"] as? [String: Any])?["destinationID"] as? String == usbID, "\(restored.stdout)")
        let back = try Self.files(URL(fileURLWithPath: target.path + root.path))
        #expect(back.count == expected.count && back == expected, "restored \(back.keys.sorted()) vs \(expected.keys.sorted())")

        // Copying again copies nothing new and lists nothing twice.
        let again = try await fleet.cli.run(["jobs", "copy", "site", "--from", "here", "--to", "usb", "--wait", "--json"])
        #expect(again.object["status"] as? String == "succeeded", "\(again.stdout)\(again.stderr)")
        #expect(try await Restic.snapshots(repository: secondRepository, passwordFile: secondPassword, tag: "job=\(jobID)").count == 2)
        let rows = try await fleet.sql("SELECT count(*) FROM snapshot_copies WHERE destination_id = '\(usbID)'")
        #expect(rows == "2", "\(rows)")
        // No password reached restic's arguments or the run's log.
        for secret in [passwords.appendingPathComponent(hereID).path, passwords.appendingPathComponent(usbID).path] {
            let password = try String(contentsOfFile: secret, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(!copy.stdout.contains(password) && !again.stdout.contains(password))
        }
    }
}
