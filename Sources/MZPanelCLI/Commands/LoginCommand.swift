import ArgumentParser
import BackupCore
import Foundation
import HubAPI
import TrustedHTTP

struct LoginCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "login", abstract: "Save the hub's URL and an API token for the client commands (file mode 0600).",
        discussion: """
            Give an API token (--token-file, MZPANEL_TOKEN or the prompt), or sign in as a member with --email: the password
            (--password-file or the prompt) and, when two-factor sign-in is on, the authenticator's code (--code-file or the
            prompt) make an API token for this CLI, the widest scope the member's role allows.
            """
    )
    @Option(name: .long, help: "The hub's URL, e.g. http://127.0.0.1:8780.") var url: String
    @Option(name: .long, help: "The API token. Visible to other users in the process list: prefer --token-file or MZPANEL_TOKEN.")
    var token: String?
    @Option(name: .long, help: "File holding the API token (- for standard input).") var tokenFile: String?
    @Option(name: .long, help: "Sign in as this member (password and, with two-factor sign-in, a code) instead of giving a token.")
    var email: String?
    @Option(name: .long, help: "With --email: file holding the password (- for standard input).") var passwordFile: String?
    @Option(name: .long, help: "With --email: file holding the two-factor code (- for standard input), read only when one is needed.")
    var codeFile: String?
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
        let caPath = caFile ?? ProcessInfo.processInfo.environment["MZPANEL_CA_FILE"].nonEmpty
        let trust: HubTrust
        do {
            trust = try caPath.map { try HubTrust.caFile($0) } ?? .system
        } catch {
            throw CLIError("\(error)")
        }
        let secret: String
        if let email {
            let password =
                try passwordFile.map { try SecretInput.read(file: $0, what: "password") } ?? SecretInput.prompt("Password", flag: "--password-file")
            let base = url.hasSuffix("/") ? String(url.dropLast()) : url
            secret = try await PasswordLogin(baseURL: base, trust: trust).token(email: email, password: password) {
                try codeFile.map { try SecretInput.read(file: $0, what: "code") } ?? SecretInput.prompt("Two-factor code", flag: "--code-file")
            }
        } else if let token {
            Output.warning("a token given with --token is visible in the process list; prefer --token-file or MZPANEL_TOKEN")
            secret = token
        } else if let tokenFile {
            secret = try SecretInput.read(file: tokenFile, what: "token")
        } else if let fromEnvironment = ProcessInfo.processInfo.environment["MZPANEL_TOKEN"].nonEmpty {
            secret = fromEnvironment
        } else {
            secret = try SecretInput.prompt("API token", flag: "--token-file")
        }
        let settings = ClientSettings(url: url, token: secret, caFile: trust.caFile)
        let account = try await APIClient(settings: settings).send("GET", "/api/v1/account", as: AccountView.self)
        try settings.save()
        print("Logged in to \(url) as \(account.account.name) (\(account.account.plan.rawValue) plan). Settings saved in \(ClientSettings.path).")
    }
}
