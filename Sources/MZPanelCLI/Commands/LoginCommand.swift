import ArgumentParser
import BackupCore
import Foundation
import HubAPI
import TrustedHTTP

struct LoginCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "login", abstract: "Save the hub's URL and an API token for the client commands (file mode 0600)."
    )
    @Option(name: .long, help: "The hub's URL, e.g. http://127.0.0.1:8780.") var url: String
    @Option(name: .long, help: "The API token. Visible to other users in the process list: prefer --token-file or MZPANEL_TOKEN.")
    var token: String?
    @Option(name: .long, help: "File holding the API token (- for standard input).") var tokenFile: String?
    @Option(
        name: .long,
        help:
            "A PEM file of the certificate authority that signed the hub's certificate (a private CA); saved with the settings and trusted alone. Default: $MZPANEL_CA_FILE, else the system's CAs."
    )
    var caFile: String?

    func run() async throws {
        guard url.hasPrefix("http://") || url.hasPrefix("https://"), URL(string: url)?.host != nil else {
            throw CLIError("--url \(url) is not an http(s) URL such as http://127.0.0.1:8780")
        }
        let secret: String
        if let token {
            Output.warning("a token given with --token is visible in the process list; prefer --token-file or MZPANEL_TOKEN")
            secret = token
        } else if let tokenFile {
            secret = try SecretInput.read(file: tokenFile, what: "token")
        } else if let fromEnvironment = ProcessInfo.processInfo.environment["MZPANEL_TOKEN"].nonEmpty {
            secret = fromEnvironment
        } else {
            secret = try SecretInput.prompt("API token", flag: "--token-file")
        }
        let caPath = caFile ?? ProcessInfo.processInfo.environment["MZPANEL_CA_FILE"].nonEmpty
        let trust: HubTrust
        do {
            trust = try caPath.map { try HubTrust.caFile($0) } ?? .system
        } catch {
            throw CLIError("\(error)")
        }
        let settings = ClientSettings(url: url, token: secret, caFile: trust.caFile)
        let account = try await APIClient(settings: settings).send("GET", "/api/v1/account", as: AccountView.self)
        try settings.save()
        print("Logged in to \(url) as \(account.account.name) (\(account.account.plan.rawValue) plan). Settings saved in \(ClientSettings.path).")
    }
}
