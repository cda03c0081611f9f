import Foundation
import Testing
import TrustedHTTP

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// Runs the real `mzpanel` binary the way a user does and captures what they would see.
struct CommandResult {
    let status: Int32
    let stdout: String
    let stderr: String

    var json: Any? { try? JSONSerialization.jsonObject(with: Data(stdout.utf8)) }
    var object: [String: Any] { json as? [String: Any] ?? [:] }
}

struct CommandRunner {
    let binary: URL
    var environment: [String: String]

    /// A binary (`mzpanel`, `mzpanel-agent`) built next to the test bundle (`swift build` puts them in one folder).
    static func locateBinary(_ name: String = "mzpanel") -> URL? {
        var candidates: [URL] = []
        if name == "mzpanel", let custom = ProcessInfo.processInfo.environment["MZPANEL_BIN"] { candidates.append(URL(fileURLWithPath: custom)) }
        var directory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for _ in 0..<4 {
            candidates.append(directory.appendingPathComponent(name))
            directory = directory.deletingLastPathComponent()
        }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        candidates.append(root.appendingPathComponent(".build/debug/\(name)"))
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) }
    }

    /// Runs the command on a dispatch thread: waiting for a child must never block one of the
    /// few threads of Swift's cooperative pool (2 on a 2-core machine), or parallel tests starve.
    @discardableResult
    func run(_ arguments: [String], stdin: String? = nil) async throws -> CommandResult {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(with: Result { try runBlocking(arguments, stdin: stdin) })
            }
        }
    }

    func runBlocking(_ arguments: [String], stdin: String? = nil) throws -> CommandResult {
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        process.environment = environment
        let out = Pipe()
        let err = Pipe()
        let input = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = input
        try process.run()
        if let stdin { input.fileHandleForWriting.write(Data(stdin.utf8)) }
        try input.fileHandleForWriting.close()
        let stdoutData = out.fileHandleForReading.readDataToEndOfFile()
        let stderrData = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return CommandResult(
            status: process.terminationStatus, stdout: String(decoding: stdoutData, as: UTF8.self),
            stderr: String(decoding: stderrData, as: UTF8.self))
    }

    /// Starts a long-running subcommand (the agent's daemon) with output to a log file.
    func start(_ arguments: [String], log: URL) throws -> Process {
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        process.environment = environment
        FileManager.default.createFile(atPath: log.path, contents: nil)
        let handle = try FileHandle(forWritingTo: log)
        process.standardOutput = handle
        process.standardError = handle
        process.standardInput = FileHandle.nullDevice
        try process.run()
        return process
    }

    /// Starts `mzpanel serve` on a free loopback port (or the given one) and waits until it answers;
    /// with `tls`, over HTTPS with that certificate, checked against its CA.
    func startHub(
        port fixedPort: Int? = nil, log: URL? = nil, tls: TestCertificates? = nil, host: String = "127.0.0.1", arguments: [String] = []
    ) async throws -> (process: Process, url: String) {
        for _ in 0..<5 {
            let port = fixedPort ?? Int.random(in: 20_000..<50_000)
            let process = Process()
            process.executableURL = binary
            process.arguments =
                ["serve", "--listen", "\(host):\(port)", "--allow-private-webhooks"]
                + (tls.map { ["--tls-cert", $0.serverCertificate.path, "--tls-key", $0.serverKey.path] } ?? []) + arguments
            process.environment = environment
            if let log {
                if !FileManager.default.fileExists(atPath: log.path) { FileManager.default.createFile(atPath: log.path, contents: nil) }
                let handle = try FileHandle(forWritingTo: log)
                handle.seekToEndOfFile()
                process.standardOutput = handle
                process.standardError = handle
            } else {
                process.standardOutput = FileHandle.nullDevice
                process.standardError = FileHandle.nullDevice
            }
            try process.run()
            let url = (tls == nil ? "http" : "https") + "://\(host):\(port)"
            let health = URLRequest(url: URL(string: url + "/api/health")!, timeoutInterval: 5)
            for _ in 0..<100 {
                if !process.isRunning { break }
                let status: Int?
                if let tls {
                    status = try? await CurlClient.data(for: health, trust: HubTrust(caFile: tls.authority.path)).1.statusCode
                } else {
                    status = (try? await URLSession.shared.data(for: health).1 as? HTTPURLResponse)?.statusCode
                }
                if status == 200 {
                    return (process, url)
                }
                try await Task.sleep(for: .milliseconds(100))
            }
            process.terminate()
        }
        throw CocoaError(.featureUnsupported, userInfo: [NSLocalizedDescriptionKey: "the hub did not start"])
    }
}

extension CommandRunner {
    /// Starts a Python helper with the system's python3 itself (a wrapper such as a version
    /// manager's shim would survive `terminate()` and leave the helper running).
    static func startPython(_ script: String, _ arguments: [String], log: URL) throws -> Process {
        let direct = FileManager.default.isExecutableFile(atPath: "/usr/bin/python3")
        let runner = CommandRunner(
            binary: URL(fileURLWithPath: direct ? "/usr/bin/python3" : "/usr/bin/env"), environment: ProcessInfo.processInfo.environment)
        return try runner.start((direct ? [] : ["python3"]) + [script] + arguments, log: log)
    }

    /// Ends a helper from `startPython` and checks it ended: SIGTERM, then SIGKILL after 5 s with an
    /// issue recorded — a helper that ignores SIGTERM would outlive the test run unnoticed.
    static func stop(_ process: Process) {
        guard process.isRunning else { return }
        process.terminate()
        for _ in 0..<100 where process.isRunning { usleep(50_000) }
        guard process.isRunning else { return }
        Issue.record("the helper \(process.processIdentifier) ignored SIGTERM for 5 s; killed")
        kill(process.processIdentifier, SIGKILL)
    }
}
