import Foundation
import Testing

/// The install script with `--ca-file`: a hub whose certificate comes from a private CA. The
/// one-liner's private-CA form runs on this machine in a private mount namespace (tmpfs over
/// /usr/local/bin, /var/lib, /var/log and /run, so nothing of the host changes; its own PID namespace): curl fetches the
/// script and the agent with `--cacert`, the agent enrolls with `--ca-file` and pins that CA, and
/// its daemon reaches the hub over TLS. The fresh Debian root test covers the rest of the script.
@Suite(
    "install the agent from a hub with a private CA", .serialized,
    .enabled(if: Fleet.available && TestCertificates.available, "mzpanel, mzpanel-agent, restic or openssl is missing"),
    .enabled(if: getuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/bin/unshare"), "needs root and unshare"))
struct InstallCAFileEndToEndTests {
    @Test("the private-CA one-liner downloads with --cacert, enrolls with --ca-file, and the daemon trusts that CA")
    func privateCAOneLiner() async throws {
        // The debug agent stands in for scripts/build-agent's build: it runs here (the toolchain's runtime is on this machine).
        let builds = FileManager.default.temporaryDirectory.appendingPathComponent("mzpanel-ca-install-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: builds, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: builds) }
        let build = builds.appendingPathComponent("mzpanel-agent-linux-amd64")
        try FileManager.default.copyItem(at: try #require(CommandRunner.locateBinary("mzpanel-agent")), to: build)
        let sha256 = try AgentDistributionSHA.of(build.path)
        try "\(sha256)  mzpanel-agent-linux-amd64\n".write(
            to: builds.appendingPathComponent("mzpanel-agent-linux-amd64.sha256"), atomically: true, encoding: .utf8)
        let fleet = try await Fleet(tls: true, hubArguments: ["--agent-dir", builds.path])
        defer { fleet.shutdown() }
        let tls = try #require(fleet.tls)

        let added = try await fleet.cli.run(["servers", "add", "web-1", "--json"])
        let serverID = try #require((added.object["server"] as? [String: Any])?["id"] as? String, "\(added.stderr)")
        let enrollment = try #require(added.object["enrollment"] as? [String: Any])
        let token = try #require(enrollment["secret"] as? String)
        let line = try #require(enrollment["privateCAInstallCommand"] as? String, "an https hub names the private-CA form")
        #expect(line == "curl --cacert ca.pem -fsSL \(fleet.url)/install.sh | sudo sh -s -- --ca-file ca.pem")
        let printed = try await fleet.cli.run(["servers", "add", "web-2"])
        #expect(printed.stdout.contains("your own CA") && printed.stdout.contains("--ca-file ca.pem"), "\(printed.stdout)")

        let work = fleet.directory.appendingPathComponent("box")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: tls.authority, to: work.appendingPathComponent("ca.pem"))
        let asRoot = line.replacingOccurrences(of: "| sudo sh", with: "| sh")
        let script = """
            set -u
            for dir in /usr/local/bin /var/lib /var/log /run; do mount -t tmpfs tmpfs "$dir" || exit 90; done
            cd '\(work.path)'
            if curl -fsSL '\(fleet.url)/install.sh' >/dev/null 2>&1; then echo SYSTEM-CAS-TRUSTED; fi
            \(asRoot) || { echo INSTALL-FAILED; exit 91; }
            cmp -s ca.pem /var/lib/mzpanel-agent/hub-ca.pem && echo CA-PINNED
            cat /var/lib/mzpanel-agent/identity.json
            sleep 3
            kill -0 "$(cat /run/mzpanel-agent.pid)" 2>/dev/null && echo DAEMON-ALIVE
            sed 's/^/LOG: /' /var/log/mzpanel-agent.log
            curl --cacert ca.pem -fsSL '\(fleet.url)/install.sh' | sh -s -- --uninstall --purge
            """
        var environment = fleet.cli.environment
        environment["MZPANEL_ENROLL_TOKEN"] = token
        let unshare = CommandRunner(binary: URL(fileURLWithPath: "/usr/bin/unshare"), environment: environment)
        // Its own PID namespace too: the script's search for agent daemons sees only this box's, and
        // whatever it started ends with it.
        let box = try await unshare.run(["--mount", "--pid", "--mount-proc", "--propagation", "private", "--fork", "/bin/sh", "-c", script])
        let output = box.stdout + box.stderr
        #expect(box.status == 0, "\(output)")
        #expect(!output.contains("SYSTEM-CAS-TRUSTED"), "the test hub's certificate must not verify without its CA")
        #expect(output.contains("CA-PINNED"), "\(output)")
        #expect(output.contains(serverID), "\(output)")
        #expect(output.contains("DAEMON-ALIVE"), "\(output)")
        let log = output.split(separator: "\n").filter { $0.hasPrefix("LOG: ") }
        #expect(!log.contains { $0.lowercased().contains("certificate") }, "no certificate error in the daemon's log: \(output)")
        let shown = try await fleet.cli.run(["servers", "show", "web-1", "--json"])
        #expect(shown.object["enrolledAt"] != nil && shown.object["lastSeenAt"] != nil, "\(shown.stdout)")

        let missing = try await unshare.run([
            "--mount", "--fork", "/bin/sh", "-c",
            "curl --cacert '\(work.path)/ca.pem' -fsSL '\(fleet.url)/install.sh' | sh -s -- --ca-file /nonexistent/ca.pem",
        ])
        #expect(missing.status != 0 && missing.stderr.contains("cannot read the CA file"), "\(missing.stderr)")
    }
}

enum AgentDistributionSHA {
    static func of(_ path: String) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
        process.arguments = [path]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return String(output.prefix(64))
    }
}
