import ArgumentParser
import BackupCore
import Foundation
import HubAPI

struct TokensCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokens", abstract: "List, create and revoke the account's API tokens (needs an admin token).",
        subcommands: [List.self, Create.self, Revoke.self], defaultSubcommand: List.self
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "List the account's API tokens (never their secrets).")
        @Flag(name: .long, help: "Include revoked tokens.") var all = false
        @OptionGroup var options: ClientOptions

        func run() async throws {
            let data = try await options.client().raw("GET", "/api/v1/tokens")
            if options.json { return Output.json(data) }
            let tokens = try HubDecoding.decode(TokenList.self, data).tokens.filter { all || $0.revokedAt == nil }
            if tokens.isEmpty { return print("No API tokens. Create one with: mzpanel tokens create NAME --scope read") }
            let now = Date()
            Output.table(
                ["NAME", "ID", "SCOPE", "STARTS WITH", "EXPIRES", "LAST USED", "CREATED"],
                tokens.map {
                    [
                        $0.name, $0.id, $0.scope.rawValue, $0.prefix + "…",
                        $0.revokedAt != nil ? "revoked" : $0.isExpired(at: now) ? "expired" : $0.expiresAt.map { Output.date($0) } ?? "never",
                        $0.lastUsedAt.map { Output.date($0) } ?? "never", Output.date($0.createdAt),
                    ]
                })
        }
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "create", abstract: "Create an API token; its secret is printed this once.",
            discussion: """
                Scopes, each including the ones before it: metrics (GET /metrics only, for a Prometheus scrape config),
                read (every GET), write (changes, runs, restores), admin (API tokens too).
                """)
        @Argument(help: "What the token is for (1–100 characters).") var name: String
        @Option(name: .long, help: "metrics, read, write or admin.") var scope: String
        @Option(name: .long, help: "Lifetime, e.g. 12h, 30d, 8w or 1y (default: no expiry).") var expires: String?
        @OptionGroup var options: ClientOptions

        func run() async throws {
            let request: TokenRequest
            do throws(DomainError) {
                request = TokenRequest(name: name, scope: try TokenScope.parse(scope), expiresInSeconds: try expires.map(APITokenRules.parseLifetime))
            } catch {
                throw CLIError("--\(error.field ?? "scope"): \(error.message)")
            }
            let data = try await options.client().raw("POST", "/api/v1/tokens", body: request)
            if options.json { return Output.json(data) }
            let created = try HubDecoding.decode(TokenCreated.self, data)
            let expiry = created.token.expiresAt.map { "expires \(Output.date($0))" } ?? "does not expire"
            print("Created API token \(created.token.name) (\(created.token.id)), scope \(created.token.scope.rawValue), \(expiry).")
            print("Its secret, shown this once — store it now:")
            print("")
            print("  " + created.secret)
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "revoke", abstract: "Revoke an API token; programs using it stop working.")
        @Argument(help: "The token's id (tok_…), from mzpanel tokens list.") var token: String
        @OptionGroup var options: ClientOptions

        func run() async throws {
            let data = try await options.client().raw("DELETE", "/api/v1/tokens/\(token.pathSegment)")
            if options.json { return Output.json(data) }
            print("Revoked API token \(token).")
        }
    }
}
