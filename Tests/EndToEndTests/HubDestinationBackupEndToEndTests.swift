import Foundation
import Testing

/// `mzpanel admin backup --destination D`: the hub's state written to a destination by the agent on
/// the hub's machine (a `hub` job, allowed only on the box), then restored from that destination
/// onto a fresh data directory, after which the agents carry on.
@Suite("backing up the hub to a destination", .serialized, .enabled(if: Fleet.available, "mzpanel, mzpanel-agent or restic is missing"))
struct HubDestinationBackupEndToEndTests {
    @Test("hub jobs need the box's consent; the hub restored from its snapshot keeps agents, jobs and history")
    func backupToDestinationAndRestore() async throws {
        let fleet = try await Fleet()
        defer { fleet.shutdown() }
        let hubDirectory = fleet.directory.appendingPathComponent("hub")
        let agent = try await fleet.enroll("hubbox")
        _ = try fleet.startDaemon(agent)
        let repositories = fleet.directory.appendingPathComponent("repos")
        #expect(try await fleet.cli.run(["destinations", "add", "here", "--kind", "local", "--path", repositories.path]).status == 0)

        // Not allowed on the box yet: the hub refuses a hub job, and so does `admin backup --destination`.
        let refusedJob = try await fleet.cli.run([
            "jobs", "add", "sneaky", "--server", "hubbox", "--kind", "hub", "--schedule", "daily", "--destination", "here",
        ])
        #expect(refusedJob.status != 0 && refusedJob.stderr.contains("hub-backup enable"), "\(refusedJob.stdout)\(refusedJob.stderr)")
        let refusedBackup = try await fleet.cli.run(["admin", "backup", "--destination", "here"])
        #expect(refusedBackup.status != 0 && refusedBackup.stderr.contains("no server allows hub backups"), "\(refusedBackup.stderr)")

        // Enabling checks the passphrase file: readable by others is refused.
        let passphrase = fleet.directory.appendingPathComponent("hub-archive.pass")
        try "correct horse battery staple\n".write(to: passphrase, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: passphrase.path)
        let mzpanel = try #require(CommandRunner.locateBinary("mzpanel")).path
        let enable = ["hub-backup", "enable", "--data-dir", hubDirectory.path, "--passphrase-file", passphrase.path, "--mzpanel", mzpanel]
        let loose = try await agent.run(enable)
        #expect(loose.status != 0 && loose.stderr.contains("chmod 600"), "\(loose.stdout)\(loose.stderr)")
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: passphrase.path)
        let enabled = try await agent.run(enable)
        #expect(enabled.status == 0, "\(enabled.stdout)\(enabled.stderr)")
        #expect(
            try await fleet.eventually(60) {
                let servers = try await fleet.cli.run(["servers", "show", "hubbox", "--json"])
                return (servers.object["capabilities"] as? [String]) == ["hub-backup"]
            }, "the daemon reports the capability at its next call")

        // Backed up through the agent, now, with progress; a second time reuses the job.
        let first = try await fleet.cli.run(["admin", "backup", "--destination", "here"])
        #expect(first.status == 0 && first.stdout.contains("Added job hub-backup"), "\(first.stdout)\(first.stderr)")
        #expect(first.stdout.contains("succeeded"), "\(first.stdout)")
        let second = try await fleet.cli.run(["admin", "backup", "--destination", "here"])
        #expect(second.status == 0 && second.stdout.contains("Using job hub-backup"), "\(second.stdout)\(second.stderr)")
        let jobs = try await fleet.cli.run(["jobs", "list", "--server", "hubbox", "--json"])
        #expect((jobs.object["jobs"] as? [[String: Any]])?.filter { $0["kind"] as? String == "hub" }.count == 1, "\(jobs.stdout)")

        // What is at the destination is the encrypted archive, as one stdin snapshot.
        let listed = try await agent.run(["restore", "--destination", "here", "--list"])
        // Two runs today; the job's retention (the standard one) keeps one snapshot a day: the newest.
        let hubLines = listed.stdout.split(separator: "\n").filter { $0.contains("  hub  ") }
        #expect(hubLines.count == 1, "\(listed.stdout)\(listed.stderr)")
        let snapshotID = try #require(hubLines.last?.split(separator: " ").first.map(String.init))

        // A box that withdrew its consent refuses the job itself, whatever the hub sends.
        let jobID = try #require((jobs.object["jobs"] as? [[String: Any]])?.first { $0["kind"] as? String == "hub" }?["id"] as? String)
        #expect(try await agent.run(["hub-backup", "disable"]).status == 0)
        let withdrawn = try await agent.run(["run", jobID])
        #expect(withdrawn.status != 0 && withdrawn.stdout.contains("has not allowed hub backups"), "\(withdrawn.stdout)\(withdrawn.stderr)")
        #expect(try await agent.run(enable).status == 0)

        // The hub's data directory is lost (a failed disk): the box restores the archive from the
        // destination with the hub down, onto a fresh, empty data directory at the same path.
        fleet.stopHub()
        try FileManager.default.removeItem(at: hubDirectory)
        let restoreDirectory = fleet.directory.appendingPathComponent("restored-archive")
        let fetched = try await agent.run(["restore", snapshotID, "--destination", "here", "--target", restoreDirectory.path])
        #expect(fetched.status == 0, "\(fetched.stdout)\(fetched.stderr)")
        let archive = restoreDirectory.appendingPathComponent("mzpanel-hub.backup")
        #expect(try Data(contentsOf: archive).starts(with: Data("MZPANEL-HUB-BACKUP 1\n".utf8)))
        let restored = try await fleet.cli.run(["admin", "restore", "--from", archive.path, "--passphrase-file", passphrase.path])
        #expect(restored.status == 0, "\(restored.stdout)\(restored.stderr)")
        #expect(FileManager.default.fileExists(atPath: hubDirectory.appendingPathComponent("hub.sqlite").path))
        // The archive was written during its own run: that run is closed, not left running for good.
        #expect(restored.stdout.contains("1 run was in progress when the backup was taken"), "\(restored.stdout)")
        try await fleet.startHub()

        // The same agent carries on: it syncs a new job and runs on demand; the hub job's history is kept.
        let tree = try fleet.makeTree("site")
        let added = try await fleet.cli.run([
            "jobs", "add", "site", "--server", "hubbox", "--kind", "full", "--path", tree.path, "--schedule", "daily", "--destination", "here",
            "--json",
        ])
        let siteID = try #require(added.object["id"] as? String, "\(added.stderr)")
        #expect(try await fleet.eventually(60) { try await agent.run(["status", "--json"]).stdout.contains(siteID) }, "the agent never synced")
        let run = try await fleet.cli.run(["jobs", "run", "site", "--wait", "--json"])
        #expect(run.object["status"] as? String == "succeeded", "\(run.stdout)\(run.stderr)")
        let history = try await fleet.cli.run(["runs", "list", "--job", "hub-backup", "--json"])
        #expect((history.object["runs"] as? [Any])?.count == 2, "the hub job's runs up to the backup are kept: \(history.stdout)")
        let again = try await fleet.cli.run(["admin", "backup", "--destination", "here"])
        #expect(
            again.status == 0 && again.stdout.contains("Using job hub-backup"),
            "the restored hub backs itself up again: \(again.stdout)\(again.stderr)")
    }
}
