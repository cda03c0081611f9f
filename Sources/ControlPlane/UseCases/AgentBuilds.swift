import Foundation

/// The agent builds this hub serves to servers: `mzpanel-agent-linux-ARCH` files with their
/// `.sha256` (as `scripts/build-agent` writes them) in one directory (`mzpanel serve --agent-dir`).
public struct AgentBuilds: Sendable {
    /// The architectures a build may exist for, in `uname -m`'s Debian names.
    public static let architectures = ["amd64", "arm64"]

    /// One build: its file and SHA-256 (hex).
    public struct Build: Sendable, Equatable {
        public let architecture: String
        public let path: String
        public let sha256: String
        /// What an agent of this build reports after its release number (`0.1.0+<buildID>`).
        public var buildID: String { String(sha256.prefix(12)) }
    }

    /// The directory; nil when the hub serves no builds.
    public let directory: String?

    public init(directory: String?) {
        self.directory = directory
    }

    public static func fileName(architecture: String) -> String { "mzpanel-agent-linux-\(architecture)" }

    /// The build for an architecture, if its binary and a well-formed `.sha256` are there.
    public func build(architecture: String) -> Build? {
        guard let directory, Self.architectures.contains(architecture) else { return nil }
        let path = directory + "/" + Self.fileName(architecture: architecture)
        guard FileManager.default.isReadableFile(atPath: path),
            let text = try? String(contentsOfFile: path + ".sha256", encoding: .utf8),
            let sha256 = text.split(whereSeparator: { $0 == " " || $0.isNewline }).first.map({ String($0).lowercased() }),
            sha256.count == 64, sha256.allSatisfy(\.isHexDigit)
        else { return nil }
        return Build(architecture: architecture, path: path, sha256: sha256)
    }

    /// Every build present.
    public var all: [Build] { Self.architectures.compactMap { build(architecture: $0) } }

    /// Whether an agent reporting `version` runs none of the served builds (nil: no builds, or no version to compare).
    public func isOutdated(agentVersion: String?) -> Bool? {
        Self.isOutdated(agentVersion: agentVersion, builds: all)
    }

    /// ``isOutdated(agentVersion:)`` against builds read once (a page of servers).
    public static func isOutdated(agentVersion: String?, builds: [Build]) -> Bool? {
        guard !builds.isEmpty, let agentVersion else { return nil }
        guard let plus = agentVersion.firstIndex(of: "+") else { return true }
        let id = agentVersion[agentVersion.index(after: plus)...].lowercased()
        return !builds.contains { $0.buildID == id }
    }

    /// The install script rendered for this hub: its URL and the SHA-256 of each build it serves.
    public func installScript(hubURL: String, template: String) -> String {
        template
            .replacingOccurrences(of: "@HUB_URL_QUOTED@", with: Self.shellQuoted(hubURL))
            .replacingOccurrences(of: "@HUB_URL@", with: hubURL.filter { !$0.isNewline })
            .replacingOccurrences(of: "@SHA256_AMD64@", with: build(architecture: "amd64")?.sha256 ?? "")
            .replacingOccurrences(of: "@SHA256_ARM64@", with: build(architecture: "arm64")?.sha256 ?? "")
    }

    /// Where /install.sh puts the agent.
    public static let installedBinary = "/usr/local/bin/mzpanel-agent"

    /// The agent's systemd unit (`Resources/agent/mzpanel-agent.service`, its one source; the
    /// package renders the same file with scripts/render-agent-unit) for a binary the hub upgrades
    /// in place: its directory stays writable under `ProtectSystem=yes`.
    public static func agentUnit(template: String, binary: String) -> String {
        let directory = (binary as NSString).deletingLastPathComponent
        return
            template
            .replacingOccurrences(of: "@AGENT_BINARY@", with: binary)
            .replacingOccurrences(of: "\n@AGENT_UPGRADES@\n", with: "\nReadWritePaths=\(directory)\n")
    }

    /// A POSIX shell single-quoted word.
    static func shellQuoted(_ text: String) -> String {
        "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }

    /// The line a user pastes on a new server.
    /// With the account key's fingerprint, the installed agent pins that key and no other.
    public static func oneLiner(hubURL: String, accountKey: String? = nil) -> String {
        "curl -fsSL \(hubURL)/install.sh | sudo sh" + (accountKey.map { " -s -- --account-key \($0)" } ?? "")
    }

    /// The same line for a hub whose certificate comes from a private CA: curl and the agent trust `ca.pem` alone.
    public static func privateCAOneLiner(hubURL: String, accountKey: String? = nil) -> String {
        "curl --cacert ca.pem -fsSL \(hubURL)/install.sh | sudo sh -s -- --ca-file ca.pem" + (accountKey.map { " --account-key \($0)" } ?? "")
    }
}
