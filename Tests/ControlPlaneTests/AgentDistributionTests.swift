import ControlPlane
import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing

@Suite("Agent distribution: /install.sh and /agent/ builds")
struct AgentDistributionTests {
    /// A directory with a fake amd64 build as scripts/build-agent lays it out.
    static func buildDirectory(binary: String = "not really an ELF file\n") throws -> (URL, String) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("mzpanel-agent-dist-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try Data(binary.utf8).write(to: directory.appendingPathComponent("mzpanel-agent-linux-amd64"))
        let sha256 = try sha256sum(directory.appendingPathComponent("mzpanel-agent-linux-amd64").path)
        try "\(sha256)  mzpanel-agent-linux-amd64\n".write(
            to: directory.appendingPathComponent("mzpanel-agent-linux-amd64.sha256"), atomically: true, encoding: .utf8)
        return (directory, sha256)
    }

    static func sha256sum(_ path: String) throws -> String {
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

    @Test("the build and its SHA-256 are served without credentials; the install script carries the hub URL and that SHA-256")
    func servesBuildAndScript() async throws {
        let (directory, sha256) = try Self.buildDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let configure: (inout HubConfiguration) -> Void = {
            $0.agentDirectory = directory.path
            $0.publicURL = "https://hub.example.com"
        }
        try await withTestHub(configure: configure) { _, client in
            let binary = try await client.call(.get, "/agent/mzpanel-agent-linux-amd64")
            #expect(binary.status == .ok)
            #expect(binary.text == "not really an ELF file\n")
            #expect(binary.headers[.contentType] == "application/octet-stream")
            let checksum = try await client.call(.get, "/agent/mzpanel-agent-linux-amd64.sha256")
            #expect(checksum.text == "\(sha256)  mzpanel-agent-linux-amd64\n")

            let script = try await client.call(.get, "/install.sh")
            #expect(script.status == .ok)
            #expect(script.headers[.contentType]?.hasPrefix("text/plain") == true)
            #expect(script.text.hasPrefix("#!/bin/sh\n"))
            #expect(script.text.contains("HUB_URL='https://hub.example.com'\n"))
            #expect(script.text.contains("SHA256_AMD64='\(sha256)'\n"))
            #expect(script.text.contains("SHA256_ARM64=''\n"), "no arm64 build here")
            #expect(script.text.contains("curl -fsSL https://hub.example.com/install.sh | sudo sh"))
            #expect(!script.text.contains("@HUB_URL") && !script.text.contains("@SHA256"), "every placeholder is filled")
        }
    }

    @Test("without a build: a 404 that says how to make one, and a script that stops with the same advice")
    func noBuild() async throws {
        let configure: (inout HubConfiguration) -> Void = { $0.agentDirectory = "/nonexistent/agent" }
        try await withTestHub(configure: configure) { _, client in
            let missing = try await client.call(.get, "/agent/mzpanel-agent-linux-amd64")
            #expect(missing.status == .notFound)
            #expect(missing.errorCode == "no_agent_build")
            #expect(missing.error["message"].string?.contains("scripts/build-agent") == true)
            let unknown = try await client.call(.get, "/agent/mzpanel-agent-windows.exe")
            #expect(unknown.status == .notFound)
            #expect(unknown.errorCode == "not_found")
            let script = try await client.call(.get, "/install.sh")
            #expect(script.status == .ok)
            #expect(script.text.contains("SHA256_AMD64=''\n"))
            #expect(script.text.contains("serves no agent build"))
        }
    }

    @Test("a public URL with a quote cannot break out of the script's quoting")
    func quoting() {
        let builds = AgentBuilds(directory: nil)
        let script = builds.installScript(hubURL: "https://x'; rm -rf /; echo '", template: "HUB_URL=@HUB_URL_QUOTED@\n")
        #expect(script == "HUB_URL='https://x'\\''; rm -rf /; echo '\\'''\n")
    }

    @Test("an agent is outdated when it runs none of the served builds")
    func outdated() throws {
        let (directory, sha256) = try Self.buildDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let builds = AgentBuilds(directory: directory.path)
        #expect(builds.isOutdated(agentVersion: "0.1.0+\(sha256.prefix(12))") == false)
        #expect(builds.isOutdated(agentVersion: "0.1.0+0123456789ab") == true)
        #expect(builds.isOutdated(agentVersion: "0.1.0") == true, "an agent from before build ids")
        #expect(builds.isOutdated(agentVersion: nil) == nil, "never enrolled")
        #expect(AgentBuilds(directory: nil).isOutdated(agentVersion: "0.1.0+0123456789ab") == nil, "no build to compare with")
    }
}
