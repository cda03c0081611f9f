import ArgumentParser
import BackupCore
import ControlPlane
import Foundation
import Logging
import MZPanelCLI
import Store

struct AdminCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "admin", abstract: "Bootstrap on the hub's machine: works on the hub's database directly.",
        subcommands: [CreateAccount.self, SetPlan.self, Backup.self, Restore.self]
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
                print("API token, admin scope (shown once, store it now): \(created.apiToken)")
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
