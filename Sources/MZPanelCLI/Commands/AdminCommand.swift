import ArgumentParser
import BackupCore
import ControlPlane
import Foundation
import Logging

struct AdminCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "admin", abstract: "Bootstrap on the hub's machine: works on the hub's database directly.",
        subcommands: [CreateAccount.self, SetPlan.self]
    )

    struct CreateAccount: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "create-account", abstract: "Create an account and print its first API token (shown once)."
        )
        @OptionGroup var state: HubStateOptions
        @Option(name: .long, help: "The user's email (login name).") var email: String
        @Option(name: .long, help: "free (local destinations) or plus (adds offsite).") var plan: String
        @Option(name: .long, help: "File holding the web login password (- for stdin). Without it, the account has API access only.")
        var passwordFile: String?
        @Flag(name: .long, help: "Print JSON.") var json = false

        func run() async throws {
            guard let plan = Plan(rawValue: plan.lowercased()) else { throw CLIError("--plan \(plan) is not a plan; use free or plus") }
            let password = try passwordFile.map { try SecretInput.read(file: $0, what: "password") }
            let store = try await state.openStore(logger: Logger(label: "mzpanel.admin"))
            defer { Task { await store.shutdown() } }
            let created: AccountProvisioning.Created
            do {
                created = try await AccountProvisioning(store: store).createAccount(email: email, plan: plan, password: password)
            } catch let error as DomainError {
                throw CLIError(error.message)
            }
            if json {
                try Output.json(created)
            } else {
                print("Created account \(created.account.id) for \(created.email) on the \(plan.title) plan.")
                print("API token (shown once, store it now): \(created.apiToken)")
                print("Log in the CLI with: echo <token> | mzpanel login --url URL --token-file -")
            }
            await store.shutdown()
        }
    }

    struct SetPlan: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "set-plan", abstract: "Change an account's plan.")
        @OptionGroup var state: HubStateOptions
        @Option(name: .long, help: "The account's email.") var email: String
        @Option(name: .long, help: "free or plus.") var plan: String

        func run() async throws {
            guard let plan = Plan(rawValue: plan.lowercased()) else { throw CLIError("--plan \(plan) is not a plan; use free or plus") }
            let store = try await state.openStore(logger: Logger(label: "mzpanel.admin"))
            guard let user = try await store.user(email: email.lowercased()), try await store.setPlan(accountID: user.accountID, plan: plan) else {
                await store.shutdown()
                throw CLIError("no account with the email \(email)", exitCode: 3)
            }
            print("Account \(user.accountID) is now on the \(plan.title) plan.")
            await store.shutdown()
        }
    }
}

struct LoginCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "login", abstract: "Save the hub's URL and an API token for the client commands (file mode 0600)."
    )
    @Option(name: .long, help: "The hub's URL, e.g. http://127.0.0.1:8780.") var url: String
    @Option(name: .long, help: "The API token. Visible to other users in the process list: prefer --token-file or MZPANEL_TOKEN.")
    var token: String?
    @Option(name: .long, help: "File holding the API token (- for standard input).") var tokenFile: String?

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
        let settings = ClientSettings(url: url, token: secret)
        struct AccountView: Decodable { struct A: Decodable { let id: String; let plan: String; let name: String }; let account: A }
        let account = try await APIClient(settings: settings).send("GET", "/api/v1/account", as: AccountView.self)
        try settings.save()
        print("Logged in to \(url) as \(account.account.name) (\(account.account.plan) plan). Settings saved in \(ClientSettings.path).")
    }
}
