import Foundation
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// The self-contained agent build the install tests serve.
enum AgentBuild {
    /// The directory with `mzpanel-agent-linux-amd64` and its `.sha256` (MZPANEL_TEST_AGENT_DIR, default the checkout's dist/).
    static var directory: String? {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let directory = ProcessInfo.processInfo.environment["MZPANEL_TEST_AGENT_DIR"] ?? root.appendingPathComponent("dist").path
        let ready = ["mzpanel-agent-linux-amd64", "mzpanel-agent-linux-amd64.sha256"].allSatisfy {
            FileManager.default.fileExists(atPath: directory + "/" + $0)
        }
        return ready ? directory : nil
    }
}

/// The agent installed the way a user installs it: the hub serves the self-contained build
/// (scripts/build-agent) and /install.sh, and the one-liner from `mzpanel servers add` runs on a
/// fresh Debian 12 server (FreshServer) with the token typed on its terminal.
@Suite(
    "install the agent on a fresh server", .serialized,
    .enabled(if: AgentBuild.directory != nil, "no self-contained agent build (scripts/build-agent; MZPANEL_TEST_AGENT_DIR)"),
    .enabled(if: Fleet.available, "mzpanel, mzpanel-agent or restic is missing"))
struct InstallEndToEndTests {
    @Test(
        "the one-liner installs, enrolls and backs up on a fresh Debian 12; again it changes nothing; --uninstall removes it",
        .enabled(if: FreshServer.available, "needs root, ip/unshare/nsenter and the cached root (scripts/fresh-server-root)"))
    func oneLinerOnFreshServer() async throws {
        let agentDirectory = try #require(AgentBuild.directory)
        let server = try await FreshServer()
        defer { server.shutdown() }
        let fleet = try await Fleet(hubHost: server.hostAddress, hubArguments: ["--agent-dir", agentDirectory])
        defer { fleet.shutdown() }

        let added = try await fleet.cli.run(["servers", "add", "web-1", "--json"])
        let serverID = try #require((added.object["server"] as? [String: Any])?["id"] as? String, "\(added.stderr)")
        let enrollment = try #require(added.object["enrollment"] as? [String: Any])
        let token = try #require(enrollment["secret"] as? String)
        let oneLiner = try #require(enrollment["installCommand"] as? String)
        #expect(oneLiner == "curl -fsSL \(fleet.url)/install.sh | sudo sh")
        let printed = try await fleet.cli.run(["servers", "add", "web-2"])
        #expect(printed.stdout.contains("curl -fsSL \(fleet.url)/install.sh | sudo sh"), "\(printed.stdout)")

        // As root on the server (a minbase root has no sudo). `script` gives the shell a terminal
        // whose keyboard is our stdin: the token is typed when the script asks on /dev/tty.
        let asRoot = oneLiner.replacingOccurrences(of: "| sudo sh", with: "| sh")
        let started = Date()
        let installed = try await server.run("script -qec \"\(asRoot)\" /dev/null", stdin: token + "\n")
        let installSeconds = Date().timeIntervalSince(started)
        #expect(installed.status == 0, "\(installed.stdout)\(installed.stderr)")
        #expect(installed.stdout.contains("no systemd here"), "\(installed.stdout)")
        #expect(installed.stdout.contains("Enrollment token"), "the script asked on the terminal: \(installed.stdout)")
        #expect(FileManager.default.isExecutableFile(atPath: server.root.path + "/usr/local/bin/mzpanel-agent"))
        let stateMode = try FileManager.default.attributesOfItem(atPath: server.root.path + "/var/lib/mzpanel-agent")[.posixPermissions] as? Int
        #expect(stateMode.map { $0 & 0o077 } == 0, "the state directory is the agent's alone")

        let online = try await fleet.eventually(30) {
            let shown = try await fleet.cli.run(["servers", "show", "web-1", "--json"])
            return shown.object["enrolledAt"] != nil && shown.object["lastSeenAt"] != nil
        }
        #expect(online, "the server never showed as enrolled and seen")
        let version = try await server.run("/usr/local/bin/mzpanel-agent --version")
        let sha256 = try String(contentsOfFile: agentDirectory + "/mzpanel-agent-linux-amd64.sha256", encoding: .utf8).prefix(64)
        #expect(version.stdout.contains("+\(sha256.prefix(12)) (sha256 \(sha256))"), "\(version.stdout)")

        // A local job on that server backs up a tree of its own into a repository of its own.
        let site = server.root.appendingPathComponent("srv/site")
        try FileManager.default.createDirectory(at: site, withIntermediateDirectories: true)
        for index in 0..<10 { try Data("file \(index)\n".utf8).write(to: site.appendingPathComponent("page-\(index).html")) }
        #expect(try await fleet.cli.run(["destinations", "add", "here", "--kind", "local", "--path", "/srv/backups"]).status == 0)
        let job = try await fleet.cli.run([
            "jobs", "add", "site", "--server", "web-1", "--kind", "full", "--path", "/srv/site", "--schedule", "daily 03:00",
            "--keep-last", "3", "--destination", "here", "--json",
        ])
        let jobID = try #require(job.object["id"] as? String, "\(job.stderr)")
        let synced = try await fleet.eventually(30) {
            try await server.run("mzpanel-agent status --json").stdout.contains(jobID)
        }
        #expect(synced, "the agent never learned the job")
        let run = try await fleet.cli.run(["jobs", "run", "site", "--wait", "--json"])
        #expect(run.object["status"] as? String == "succeeded", "\(run.stdout)\(run.stderr)")
        #expect(FileManager.default.fileExists(atPath: server.root.path + "/srv/backups/\(serverID)/config"), "the repository is on the server")

        // Again: the same build and an enrolled server, so nothing to download and no token to ask for.
        let again = try await server.run(asRoot)
        #expect(again.status == 0, "\(again.stdout)\(again.stderr)")
        #expect(again.stderr.contains("already this hub's build") && again.stderr.contains("already enrolled"), "\(again.stderr)")

        let removed = try await server.run("curl -fsSL \(fleet.url)/install.sh | sh -s -- --uninstall")
        #expect(removed.status == 0, "\(removed.stdout)\(removed.stderr)")
        #expect(!FileManager.default.fileExists(atPath: server.root.path + "/usr/local/bin/mzpanel-agent"))
        #expect(FileManager.default.fileExists(atPath: server.root.path + "/var/lib/mzpanel-agent/identity.json"), "the state stays")
        let processes = try await server.run("cat /proc/[0-9]*/cmdline 2>/dev/null | tr '\\000' ' '")
        #expect(!processes.stdout.contains("mzpanel-agent"), "the daemon is stopped: \(processes.stdout)")
        let purged = try await server.run("curl -fsSL \(fleet.url)/install.sh | sh -s -- --uninstall --purge")
        #expect(purged.status == 0, "\(purged.stderr)")
        #expect(!FileManager.default.fileExists(atPath: server.root.path + "/var/lib/mzpanel-agent"))
        print("install on a fresh server: the one-liner took \(String(format: "%.1f", installSeconds)) s")
    }

    @Test(
        "the unit the script writes passes systemd-analyze verify",
        .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/systemd-analyze")))
    func unitVerifies() async throws {
        let agentDirectory = try #require(AgentBuild.directory)
        let fleet = try await Fleet(hubArguments: ["--agent-dir", agentDirectory])
        defer { fleet.shutdown() }
        let (data, _) = try await URLSession.shared.data(from: try #require(URL(string: fleet.url + "/install.sh")))
        let script = String(decoding: data, as: UTF8.self)
        let lines = script.components(separatedBy: "\n")
        let start = try #require(lines.firstIndex { $0.hasSuffix("<<'UNIT'") })
        let end = try #require(lines[(start + 1)...].firstIndex(of: "UNIT"))
        // The unit as the script writes it, pointing at a binary that exists here.
        let unit = lines[(start + 1)..<end].joined(separator: "\n")
            .replacingOccurrences(of: "ExecStart=/usr/local/bin/mzpanel-agent", with: "ExecStart=" + fleet.agentBinary.path)
        let unitFile = fleet.directory.appendingPathComponent("mzpanel-agent.service")
        try (unit + "\n").write(to: unitFile, atomically: true, encoding: .utf8)
        #expect(unit.contains("NoNewPrivileges=yes") && unit.contains("ProtectSystem=") && unit.contains("PrivateTmp="))
        let verify = try await CommandRunner(
            binary: URL(fileURLWithPath: "/usr/bin/systemd-analyze"), environment: ProcessInfo.processInfo.environment
        )
        .run(["verify", unitFile.path])
        #expect(verify.status == 0 && verify.stderr.isEmpty, "\(verify.stdout)\(verify.stderr)")
    }
}
