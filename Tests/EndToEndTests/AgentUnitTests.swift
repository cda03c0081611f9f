import Foundation
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// The agent's systemd unit has one source (`Resources/agent/mzpanel-agent.service`): the unit
/// /install.sh writes and the package's (scripts/render-agent-unit) differ only where the binary
/// lives and in whether the hub may swap it, and both pass `systemd-analyze verify` without a word.
@Suite(
    "the agent's systemd unit", .serialized,
    .enabled(if: Fleet.available, "mzpanel, mzpanel-agent or restic is missing"),
    .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/systemd-analyze"), "systemd-analyze is not installed"))
struct AgentUnitTests {
    static let checkout = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The unit between `<<'UNIT'` and `UNIT` in the script the hub serves.
    static func unitInScript(_ script: String) throws -> String {
        let lines = script.components(separatedBy: "\n")
        let start = try #require(lines.firstIndex { $0.hasSuffix("<<'UNIT'") })
        let end = try #require(lines[(start + 1)...].firstIndex(of: "UNIT"))
        return lines[(start + 1)..<end].joined(separator: "\n") + "\n"
    }

    static func verify(_ unit: String, in directory: URL) async throws -> CommandResult {
        let file = directory.appendingPathComponent("mzpanel-agent.service")
        try unit.write(to: file, atomically: true, encoding: .utf8)
        return try await CommandRunner(binary: URL(fileURLWithPath: "/usr/bin/systemd-analyze"), environment: ProcessInfo.processInfo.environment)
            .run(["verify", file.path])
    }

    @Test("install.sh and the package write the same unit, and systemd-analyze verify accepts both")
    func oneUnit() async throws {
        let fleet = try await Fleet()
        defer { fleet.shutdown() }
        let (data, _) = try await URLSession.shared.data(from: try #require(URL(string: fleet.url + "/install.sh")))
        let installed = try Self.unitInScript(String(decoding: data, as: UTF8.self))
        let render = CommandRunner(
            binary: Self.checkout.appendingPathComponent("scripts/render-agent-unit"), environment: ProcessInfo.processInfo.environment)
        let packaged = try await render.run([])
        #expect(packaged.status == 0, "\(packaged.stderr)")
        #expect(!installed.contains("@") && !packaged.stdout.contains("@"), "every placeholder is filled")
        #expect(installed.contains("ExecStart=/usr/local/bin/mzpanel-agent daemon\n") && installed.contains("ReadWritePaths=/usr/local/bin\n"))
        #expect(packaged.stdout.contains("ExecStart=/usr/bin/mzpanel-agent daemon\n") && !packaged.stdout.contains("ReadWritePaths="))
        // The same file but for those two lines.
        let difference = Set(installed.split(separator: "\n")).symmetricDifference(Set(packaged.stdout.split(separator: "\n")))
        #expect(difference.count == 4, "\(difference.sorted())")
        for line in ["NoNewPrivileges=yes", "ProtectSystem=yes", "PrivateTmp=no", "ConditionPathExists=/var/lib/mzpanel-agent/credential"] {
            #expect(installed.contains(line + "\n") && packaged.stdout.contains(line + "\n"), "\(line)")
        }
        // verify checks that ExecStart's program exists: point both at the agent just built.
        for (name, unit) in [("install.sh", installed), ("package", packaged.stdout)] {
            let here = unit.replacingOccurrences(of: "/usr/local/bin/mzpanel-agent daemon", with: fleet.agentBinary.path + " daemon")
                .replacingOccurrences(of: "/usr/bin/mzpanel-agent daemon", with: fleet.agentBinary.path + " daemon")
            let directory = fleet.directory.appendingPathComponent("unit-\(name)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            let verified = try await Self.verify(here, in: directory)
            #expect(verified.status == 0 && verified.stdout.isEmpty && verified.stderr.isEmpty, "\(name): \(verified.stdout)\(verified.stderr)")
        }
    }
}
