import Foundation
import Testing
import TrustedHTTP

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// A hub process, the CLI logged in to it, and agents enrolled on this machine: real binaries,
/// real restic, one temporary directory.
final class Fleet: @unchecked Sendable {
    let directory: URL
    private(set) var cli: CommandRunner
    let agentBinary: URL
    private(set) var hub: Process?
    private(set) var url = ""
    private(set) var port = 0
    /// The hub serves HTTPS with these (nil: plain HTTP); the CLI and agents trust its CA file.
    let tls: TestCertificates?
    private var daemons: [Process] = []
    private let hubHost: String
    private let hubArguments: [String]

    static var available: Bool {
        CommandRunner.locateBinary("mzpanel") != nil && CommandRunner.locateBinary("mzpanel-agent") != nil && Restic.installed
    }

    /// - Parameters:
    ///   - tls: serve HTTPS with a test CA the agents and the CLI are given.
    ///   - hubHost: the address the hub listens on (and the URL agents are given).
    ///   - hubArguments: more `mzpanel serve` options.
    init(
        plan: String = "free", hubEnvironment: [String: String] = [:], tls: Bool = false, hubHost: String = "127.0.0.1",
        hubArguments: [String] = []
    ) async throws {
        self.hubHost = hubHost
        self.hubArguments = hubArguments
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("mzpanel-fleet-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        self.tls = tls ? try await TestCertificates.make(in: directory.appendingPathComponent("tls")) : nil
        var environment = ProcessInfo.processInfo.environment
        environment["MZPANEL_DATA_DIR"] = directory.appendingPathComponent("hub").path
        environment["MZPANEL_CONFIG"] = directory.appendingPathComponent("client.json").path
        for key in ["MZPANEL_URL", "MZPANEL_TOKEN", "MZPANEL_DATABASE_URL"] { environment.removeValue(forKey: key) }
        environment.merge(hubEnvironment) { _, new in new }
        cli = CommandRunner(binary: try #require(CommandRunner.locateBinary("mzpanel")), environment: environment)
        agentBinary = try #require(CommandRunner.locateBinary("mzpanel-agent"))
        let passwordFile = directory.appendingPathComponent("password")
        try "a long enough passphrase\n".write(to: passwordFile, atomically: true, encoding: .utf8)
        let created = try await cli.run([
            "admin", "create-account", "--email", "ops@example.com", "--plan", plan, "--password-file", passwordFile.path, "--json",
        ])
        let token = try #require(created.object["apiToken"] as? String, "\(created.stderr)")
        try await startHub()
        let login = try await cli.run(
            ["login", "--url", url, "--token-file", "-"] + (self.tls.map { ["--ca-file", $0.authority.path] } ?? []), stdin: token)
        #expect(login.status == 0, "\(login.stderr)")
    }

    /// Starts the hub (again, on the same port and data after a stop).
    func startHub() async throws {
        let started = try await cli.startHub(
            port: port == 0 ? nil : port, log: directory.appendingPathComponent("hub.log"), tls: tls, host: hubHost, arguments: hubArguments)
        hub = started.process
        url = started.url
        port = Int(url.split(separator: ":").last ?? "") ?? 0
    }

    /// Points the hub (at its next start) and `mzpanel admin` at another data directory.
    func useDataDirectory(_ directory: URL) {
        cli.environment["MZPANEL_DATA_DIR"] = directory.path
    }

    func stopHub() {
        if hub?.isRunning == true { hub?.terminate() }
        hub?.waitUntilExit()
        hub = nil
    }

    /// The agent of one enrolled server, with its own state directory.
    struct Agent {
        let serverID: String
        let stateDir: URL
        let runner: CommandRunner

        func run(_ arguments: [String]) async throws -> CommandResult {
            try await runner.run(arguments + ["--state-dir", stateDir.path])
        }
    }

    /// Adds a server and enrolls an agent for it (no systemd: the daemon fires schedules).
    func enroll(_ name: String) async throws -> Agent {
        let added = try await cli.run(["servers", "add", name, "--json"])
        let server = try #require(added.object["server"] as? [String: Any], "\(added.stderr)")
        let enrollment = try #require(added.object["enrollment"] as? [String: Any])
        let command = try #require(enrollment["command"] as? String)
        let stateDir = directory.appendingPathComponent("agent-\(name)")
        let runner = CommandRunner(binary: agentBinary, environment: cli.environment)
        // The line the hub prints, pasted into a shell as a user would (the agent found on PATH).
        var shellEnvironment = cli.environment
        shellEnvironment["PATH"] = agentBinary.deletingLastPathComponent().path + ":" + (cli.environment["PATH"] ?? "/usr/bin:/bin")
        let shell = CommandRunner(binary: URL(fileURLWithPath: "/bin/sh"), environment: shellEnvironment)
        let trust = tls.map { " --ca-file '\($0.authority.path)'" } ?? ""
        let enrolled = try await shell.run(["-c", command + " --state-dir '\(stateDir.path)' --no-systemd" + trust])
        #expect(enrolled.status == 0, "\(enrolled.stdout)\(enrolled.stderr)")
        return Agent(serverID: try #require(server["id"] as? String), stateDir: stateDir, runner: runner)
    }

    /// Certifies a server's key as a user does: the fingerprint read on the box, the vault unlocked
    /// (created when the account has none).
    func trust(_ agent: Agent, vault: [String]) async throws {
        let fingerprint = try await agent.run(["fingerprint"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let trusted = try await cli.run(["servers", "trust", agent.serverID, "--fingerprint", fingerprint] + vault)
        #expect(trusted.status == 0, "\(trusted.stdout)\(trusted.stderr)")
    }

    /// Plays a hostile hub: rewrites a row of its SQLite database behind its back.
    func tamper(_ sql: String) async throws {
        let sqlite = CommandRunner(binary: URL(fileURLWithPath: "/usr/bin/sqlite3"), environment: ProcessInfo.processInfo.environment)
        let result = try await sqlite.run([directory.appendingPathComponent("hub/hub.sqlite").path, sql])
        #expect(result.status == 0, "\(result.stderr)")
    }

    /// Reads the hub's SQLite database directly (one value per line).
    func sql(_ query: String) async throws -> String {
        let sqlite = CommandRunner(binary: URL(fileURLWithPath: "/usr/bin/sqlite3"), environment: ProcessInfo.processInfo.environment)
        let result = try await sqlite.run([directory.appendingPathComponent("hub/hub.sqlite").path, query])
        #expect(result.status == 0, "\(result.stderr)")
        return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Starts an agent's daemon; stopped by `shutdown()`.
    func startDaemon(_ agent: Agent) throws -> Process {
        let daemon = try agent.runner.start(
            ["daemon", "--state-dir", agent.stateDir.path, "--no-systemd"],
            log: directory.appendingPathComponent("daemon-\(agent.serverID).log"))
        daemons.append(daemon)
        return daemon
    }

    /// Calls the hub's API as the logged-in CLI user; returns the JSON object (empty on errors).
    func api(_ method: String, _ path: String, body: [String: Any]? = nil) async throws -> [String: Any] {
        let config = try JSONSerialization.jsonObject(with: Data(contentsOf: directory.appendingPathComponent("client.json"))) as? [String: Any]
        let token = try #require(config?["token"] as? String)
        var request = URLRequest(url: try #require(URL(string: url + path)))
        request.httpMethod = method
        request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization")
        if let body {
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
            request.httpBody = try JSONSerialization.data(withJSONObject: body)
        }
        let data: Data
        if let tls {
            data = try await CurlClient.data(for: request, trust: HubTrust(caFile: tls.authority.path)).0
        } else {
            data = try await URLSession.shared.data(for: request).0
        }
        return (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] ?? [:]
    }

    /// Polls until `condition` holds or `seconds` pass.
    func eventually(_ seconds: Double = 30, _ condition: () async throws -> Bool) async throws -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if try await condition() { return true }
            try await Task.sleep(for: .milliseconds(300))
        }
        return try await condition()
    }

    /// A generated tree of files to back up.
    func makeTree(_ name: String, files: Int = 20) throws -> URL {
        let root = directory.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: root.appendingPathComponent("sub"), withIntermediateDirectories: true)
        for index in 0..<files {
            let data = Data((0..<(1024 + index * 97)).map { UInt8(($0 * 31 + index) % 251) })
            try data.write(to: root.appendingPathComponent(index % 2 == 0 ? "file-\(index).bin" : "sub/file-\(index).bin"))
        }
        return root
    }

    func shutdown() {
        for daemon in daemons where daemon.isRunning {
            daemon.terminate()
            daemon.waitUntilExit()
        }
        stopHub()
    }
}

/// restic run directly, to look into repositories the way an operator would.
enum Restic {
    static var installed: Bool {
        ["/usr/bin/restic", "/usr/local/bin/restic"].contains { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// The job's snapshots in a local repository, using the password the agent generated.
    static func snapshots(repository: String, passwordFile: String, tag: String) async throws -> [[String: Any]] {
        let runner = CommandRunner(
            binary: URL(fileURLWithPath: "/usr/bin/restic"),
            environment: ["PATH": "/usr/bin:/bin", "HOME": NSTemporaryDirectory(), "RESTIC_PASSWORD_FILE": passwordFile])
        let result = try await runner.run(["-r", repository, "snapshots", "--json", "--tag", tag])
        return (result.json as? [[String: Any]]) ?? []
    }

    static func check(repository: String, passwordFile: String) async throws -> Int32 {
        let runner = CommandRunner(
            binary: URL(fileURLWithPath: "/usr/bin/restic"),
            environment: ["PATH": "/usr/bin:/bin", "HOME": NSTemporaryDirectory(), "RESTIC_PASSWORD_FILE": passwordFile])
        return try await runner.run(["-r", repository, "check"]).status
    }
}
