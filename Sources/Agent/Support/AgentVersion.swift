import Crypto
import Foundation

/// The agent's version: a release number kept in the source plus a build id, the SHA-256 of the
/// running executable. Two builds of the same release differ by their build id, and the hub
/// compares it with the SHA-256 of the build it serves to tell outdated agents.
public enum AgentVersion {
    /// The release number, bumped with each release.
    public static let release = "0.1.0"

    /// The SHA-256 (hex) of the running executable; nil when it cannot be read.
    public static let buildSHA256: String? = executableSHA256()

    /// The first 12 hex digits of ``buildSHA256``: short enough for a page, long enough to tell builds apart.
    public static var buildID: String? { buildSHA256.map { String($0.prefix(12)) } }

    /// What the agent reports: `0.1.0+1a2b3c4d5e6f` (SemVer build metadata), or the release alone.
    public static let current: String = buildID.map { "\(release)+\($0)" } ?? release

    /// The build id in a reported version (`0.1.0+1a2b3c4d5e6f` → `1a2b3c4d5e6f`).
    public static func buildID(of version: String) -> String? {
        guard let plus = version.firstIndex(of: "+") else { return nil }
        let id = version[version.index(after: plus)...]
        return id.isEmpty ? nil : String(id)
    }

    /// The SHA-256 (hex) of a file, read in chunks.
    public static func sha256(ofFile path: String) throws -> String {
        guard let handle = FileHandle(forReadingAtPath: path) else { throw AgentError("cannot read \(path)") }
        defer { try? handle.close() }
        var hasher = SHA256()
        while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty {
            hasher.update(data: chunk)
        }
        return hasher.finalize().map { String(format: "%02x", $0) }.joined()
    }

    /// The path of the running executable (`/proc/self/exe` resolved).
    public static var executablePath: String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    }

    private static func executableSHA256() -> String? {
        try? sha256(ofFile: "/proc/self/exe")
    }
}
