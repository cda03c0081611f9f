import Foundation
import Testing
import TrustedHTTP

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// `packaging/mzpanel-hub.service` and `packaging/hub.env`: the unit passes `systemd-analyze verify`
/// with its hardening in place, and `mzpanel serve` takes every setting from the environment the
/// unit gives it.
@Suite("the hub as a system service", .serialized, .enabled(if: CommandRunner.locateBinary("mzpanel") != nil, "mzpanel is not built"))
struct HubServiceTests {
    static let packaging = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("packaging")

    /// `KEY=value` lines of a unit or an environment file, comments and sections left out.
    static func settings(_ file: URL) throws -> [(key: String, value: String)] {
        try String(contentsOf: file, encoding: .utf8).split(separator: "\n").compactMap { line in
            let text = line.trimmingCharacters(in: .whitespaces)
            guard !text.isEmpty, !text.hasPrefix("#"), !text.hasPrefix("["), let equals = text.firstIndex(of: "=") else { return nil }
            return (String(text[..<equals]), String(text[text.index(after: equals)...]))
        }
    }

    @Test(
        "systemd-analyze verify accepts the unit without a warning",
        .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/systemd-analyze"), "systemd-analyze is not installed"))
    func verify() async throws {
        let binary = try #require(CommandRunner.locateBinary("mzpanel"))
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("mzpanel-unit-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        // verify checks that ExecStart's program exists: point it at the binary just built.
        let unit = try String(contentsOf: Self.packaging.appendingPathComponent("mzpanel-hub.service"), encoding: .utf8)
            .replacingOccurrences(of: "ExecStart=/usr/bin/mzpanel", with: "ExecStart=\(binary.path)")
        let copy = directory.appendingPathComponent("mzpanel-hub.service")
        try unit.write(to: copy, atomically: true, encoding: .utf8)
        let analyze = CommandRunner(binary: URL(fileURLWithPath: "/usr/bin/systemd-analyze"), environment: ProcessInfo.processInfo.environment)
        let verified = try await analyze.run(["verify", copy.path])
        #expect(verified.status == 0, "\(verified.stdout)\(verified.stderr)")
        #expect(verified.stdout.isEmpty && verified.stderr.isEmpty, "\(verified.stdout)\(verified.stderr)")
    }

    @Test("the unit runs as mzpanel with its settings file, its state directory and the hardening")
    func hardening() throws {
        let settings = try Self.settings(Self.packaging.appendingPathComponent("mzpanel-hub.service"))
        let values = Dictionary(settings.map { ($0.key, $0.value) }, uniquingKeysWith: { first, _ in first })
        #expect(values["User"] == "mzpanel")
        #expect(values["Group"] == "mzpanel")
        #expect(values["EnvironmentFile"] == "-/etc/mzpanel/hub.env")
        #expect(values["ExecStart"] == "/usr/bin/mzpanel serve")
        #expect(values["StateDirectory"] == "mzpanel")
        #expect(values["ProtectSystem"] == "strict")
        #expect(values["ReadWritePaths"] == "/var/lib/mzpanel")
        #expect(values["NoNewPrivileges"] == "yes")
        #expect(values["PrivateTmp"] == "yes")
        #expect(values["UMask"] == "0077")
        #expect(values["CapabilityBoundingSet"] == "CAP_NET_BIND_SERVICE")
    }

    @Test(
        "mzpanel serve takes its listen address, data directory and TLS files from the environment, as hub.env sets them",
        .enabled(if: TestCertificates.available, "openssl is missing"))
    func environment() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("mzpanel-env-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: directory) }
        let tls = try await TestCertificates.make(in: directory.appendingPathComponent("tls"))
        var environment = ProcessInfo.processInfo.environment
        for key in environment.keys where key.hasPrefix("MZPANEL_") { environment.removeValue(forKey: key) }
        for (key, value) in try Self.settings(Self.packaging.appendingPathComponent("hub.env")) { environment[key] = value }
        #expect(environment["MZPANEL_LISTEN"] == "127.0.0.1:8780")
        let port = Int.random(in: 20_000..<50_000)
        environment["MZPANEL_LISTEN"] = "127.0.0.1:\(port)"
        environment["MZPANEL_DATA_DIR"] = directory.appendingPathComponent("data").path
        environment["MZPANEL_TLS_CERT"] = tls.serverCertificate.path
        environment["MZPANEL_TLS_KEY"] = tls.serverKey.path
        let hub = Process()
        hub.executableURL = CommandRunner.locateBinary("mzpanel")
        hub.arguments = ["serve"]
        hub.environment = environment
        hub.standardOutput = FileHandle.nullDevice
        hub.standardError = FileHandle.nullDevice
        try hub.run()
        defer {
            hub.terminate()
            hub.waitUntilExit()
        }
        let health = URLRequest(url: try #require(URL(string: "https://127.0.0.1:\(port)/api/health")), timeoutInterval: 5)
        var status: Int?
        for _ in 0..<100 where status == nil && hub.isRunning {
            status = try? await CurlClient.data(for: health, trust: HubTrust(caFile: tls.authority.path)).1.statusCode
            if status == nil { try await Task.sleep(for: .milliseconds(100)) }
        }
        #expect(status == 200)
        #expect(FileManager.default.fileExists(atPath: directory.appendingPathComponent("data/hub.sqlite").path))
        let mode = try FileManager.default.attributesOfItem(atPath: directory.appendingPathComponent("data").path)[.posixPermissions] as? Int
        #expect(mode == 0o700)
    }
}
