import ArgumentParser
import BackupCore
import Foundation
import HubAPI

struct SSOCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sso", abstract: "Single sign-on with an OpenID Connect provider for the web hub: show, set (owners), disable (owners).",
        subcommands: [Show.self, SetUp.self, Disable.self], defaultSubcommand: Show.self
    )

    static func describe(_ view: SSOSettingsView) {
        guard view.configured else {
            print("Single sign-on is off. Register this redirect URI at your provider, then run mzpanel sso set:")
            print("  " + view.redirectURI)
            return
        }
        print("Issuer:        " + (view.issuer ?? ""))
        print("Client id:     " + (view.clientID ?? ""))
        print("Client secret: " + (view.clientSecretSet ? "set (never shown)" : "none (public client, PKCE only)"))
        print(
            "Joining:       "
                + (view.allowJoin ? "people with a verified email join as \(view.defaultRole?.rawValue ?? "viewer")" : "members and invitees only"))
        print("Email domains: " + (view.domains.isEmpty ? "none (members find it by their email)" : view.domains.joined(separator: ", ")))
        print("Redirect URI:  " + view.redirectURI)
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "show", abstract: "The account's single sign-on settings (never the secret).")
        @OptionGroup var options: ClientOptions

        func run() async throws {
            let data = try await options.client().raw("GET", "/api/v1/account/sso")
            if options.json { return Output.json(data) }
            SSOCommand.describe(try HubDecoding.decode(SSOSettingsView.self, data))
        }
    }

    struct SetUp: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "set",
            abstract: "Set up single sign-on (owners): the hub reads the issuer's discovery document first. The client secret comes from a file.")
        @Option(name: .long, help: "The provider's issuer URL, e.g. https://id.example.com/realms/ops.") var issuer: String
        @Option(name: .long, help: "The client id the provider gave the hub.") var clientID: String
        @Option(
            name: .long, help: "File holding the client secret (- for standard input); omit for a public client or to keep the secret set before.")
        var clientSecretFile: String?
        @Option(name: .long, help: "The role of people who join through the provider: viewer (default), operator or admin.")
        var defaultRole: String = "viewer"
        @Flag(name: .long, help: "Let people with a verified email the account has no member for join with the default role.")
        var allowJoin = false
        @Option(name: .long, help: "An email domain that finds this provider from the login page (repeatable).") var domain: [String] = []
        @OptionGroup var options: ClientOptions

        func run() async throws {
            let role = try MemberRole.parse(defaultRole, field: "default-role")
            let secret = try clientSecretFile.map { try SecretInput.read(file: $0, what: "client secret") }
            let body = SSOSettingsRequest(
                issuer: issuer, clientID: clientID, clientSecret: secret, defaultRole: role, allowJoin: allowJoin, domains: domain)
            let data = try await options.client().raw("PUT", "/api/v1/account/sso", body: body)
            if options.json { return Output.json(data) }
            print("Single sign-on is on.")
            SSOCommand.describe(try HubDecoding.decode(SSOSettingsView.self, data))
        }
    }

    struct Disable: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "disable", abstract: "Turn single sign-on off (owners); members sign in with their passwords again.")
        @OptionGroup var options: ClientOptions

        func run() async throws {
            let data = try await options.client().raw("DELETE", "/api/v1/account/sso")
            if options.json { return Output.json(data) }
            print("Single sign-on is off.")
        }
    }
}
