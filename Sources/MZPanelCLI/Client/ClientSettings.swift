import Foundation
import SecretFiles
import TrustedHTTP

/// Where the CLI finds the hub: `MZPANEL_URL`/`MZPANEL_TOKEN` first, then the file written by
/// `mzpanel login` (`$MZPANEL_CONFIG`, else `~/.config/mzpanel/client.json`, mode 0600).
/// The hub's CA file: `MZPANEL_CA_FILE`, else the one saved by `login --ca-file`, else the system's CAs.
struct ClientSettings: Codable {
    var url: String
    var token: String
    var caFile: String?

    var trust: HubTrust { HubTrust(caFile: caFile) }

    static var path: String {
        if let custom = ProcessInfo.processInfo.environment["MZPANEL_CONFIG"], !custom.isEmpty { return custom }
        let home = ProcessInfo.processInfo.environment["HOME"] ?? NSHomeDirectory()
        return home + "/.config/mzpanel/client.json"
    }

    static func load() throws -> ClientSettings {
        let environment = ProcessInfo.processInfo.environment
        let saved = (try? Data(contentsOf: URL(fileURLWithPath: path))).flatMap { try? JSONDecoder().decode(ClientSettings.self, from: $0) }
        guard let url = environment["MZPANEL_URL"].nonEmpty ?? saved?.url,
            let token = environment["MZPANEL_TOKEN"].nonEmpty ?? saved?.token
        else { throw CLIError.notLoggedIn() }
        return ClientSettings(url: url, token: token, caFile: environment["MZPANEL_CA_FILE"].nonEmpty ?? saved?.caFile)
    }

    /// Saves the settings with owner-only permissions (the token is a secret).
    func save() throws {
        let file = URL(fileURLWithPath: Self.path)
        try FileManager.default.createDirectory(
            at: file.deletingLastPathComponent(), withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let data = try encoder.encode(self)
        // Created 0600 in one step and renamed into place: the token is never readable by others.
        do {
            try SecretFile.write(data, to: file.path)
        } catch {
            throw CLIError("\(error); check that \(file.deletingLastPathComponent().path) is yours and writable")
        }
    }
}

extension Optional where Wrapped == String {
    var nonEmpty: String? {
        guard let value = self?.trimmingCharacters(in: .whitespacesAndNewlines), !value.isEmpty else { return nil }
        return value
    }
}
