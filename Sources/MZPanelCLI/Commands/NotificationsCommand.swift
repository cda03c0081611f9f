import ArgumentParser
import BackupCore
import Foundation
import HubAPI

/// `mzpanel notifications …`: where alerts go (webhook, Slack, Discord, email), their rules, a
/// test send, and what was delivered.
struct NotificationsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "notifications", abstract: "Alert channels (webhook, Slack, Discord, email), their rules, and deliveries.",
        subcommands: [List.self, Add.self, Edit.self, Remove.self, Test.self, Deliveries.self], defaultSubcommand: List.self)

    /// The rules flags shared by add and edit; nil when none was given.
    struct RuleOptions: ParsableArguments {
        @Option(name: .long, help: "Alert after this many failed runs in a row (default 1).") var failures: Int?
        @Option(name: .customLong("offline-minutes"), help: "Alert when a server is silent this long (default 30; 0: never).") var offlineMinutes:
            Int?
        @Option(name: .customLong("quiet-minutes"), help: "After a problem ends, do not alert the same problem again within this time (default 60).")
        var quietMinutes: Int?
        @Option(name: .customLong("digest-hour"), help: "Send a daily digest at this hour (UTC, 0–23).") var digestHour: Int?
        @Flag(name: .customLong("no-missed"), help: "Do not alert missed slots.") var noMissed = false
        @Flag(name: .customLong("no-stale"), help: "Do not alert stale jobs.") var noStale = false
        @Flag(name: .customLong("no-recovery"), help: "Do not tell when a problem is over.") var noRecovery = false

        func rules(base: NotificationRules = NotificationRules()) -> NotificationRules? {
            guard failures != nil || offlineMinutes != nil || quietMinutes != nil || digestHour != nil || noMissed || noStale || noRecovery else {
                return nil
            }
            var rules = base
            if let failures { rules.failures = failures }
            if let offlineMinutes { rules.offlineMinutes = offlineMinutes == 0 ? nil : offlineMinutes }
            if let quietMinutes { rules.quietMinutes = quietMinutes }
            if let digestHour { rules.digestHour = digestHour }
            if noMissed { rules.missed = false }
            if noStale { rules.stale = false }
            if noRecovery { rules.recovery = false }
            return rules
        }
    }

    /// Email flags shared by add and edit.
    struct EmailOptions: ParsableArguments {
        @Option(name: .long, help: "Email: the sender address.") var from: String?
        @Option(name: .long, help: "Email: a recipient (repeatable).") var to: [String] = []
        @Option(name: .customLong("smtp-user"), help: "Email: the SMTP login name.") var smtpUser: String?
        @Option(name: .customLong("smtp-password-file"), help: "Email: a file holding the SMTP password (- for standard input).")
        var smtpPasswordFile: String?

        var settings: EmailSettings? { from.map { EmailSettings(from: $0, to: to, username: smtpUser) } }
        func password() throws -> String? { try smtpPasswordFile.map { try SecretInput.read(file: $0, what: "SMTP password") } }
    }

    static func describe(_ channel: NotificationChannel) -> [String] {
        let target = channel.email.map { "\(channel.url) → \($0.to.joined(separator: ", "))" } ?? channel.url
        return [channel.name, channel.kind.rawValue, target, channel.rules.summary]
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "List alert channels and their rules.")
        @OptionGroup var options: ClientOptions
        func run() async throws {
            let data = try await options.client().raw("GET", "/api/v1/notifications/channels")
            if options.json { return Output.json(data) }
            let list = try HubDecoding.decode(ChannelList.self, data)
            if list.channels.isEmpty {
                return print("No channels yet. Add one with: mzpanel notifications add ops --url https://hooks.example.com/…")
            }
            Output.table(["NAME", "KIND", "WHERE", "RULES"], list.channels.map(NotificationsCommand.describe))
        }
    }

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "add", abstract: "Add a channel: a signed webhook, Slack, Discord, or email through your SMTP server.",
            discussion: """
                mzpanel notifications add ops --url https://hooks.example.com/backups          (prints the signing secret once)
                mzpanel notifications add team --kind slack --url https://hooks.slack.com/services/…
                mzpanel notifications add mail --kind email --url smtp://mail.example.com:587 --from backups@example.com \\
                    --to ops@example.com --smtp-user backups --smtp-password-file smtp.txt --digest-hour 7
                """)
        @Argument(help: "The channel's name.") var name: String
        @Option(name: .long, help: "webhook (default), slack, discord or email.") var kind: String = "webhook"
        @Option(name: .long, help: "The webhook URL, or smtp://HOST:587 / smtps://HOST:465 for email.") var url: String
        @OptionGroup var email: EmailOptions
        @OptionGroup var rules: RuleOptions
        @OptionGroup var options: ClientOptions

        func run() async throws {
            let body = ChannelRequest(
                name: name, kind: kind, url: url, rules: rules.rules(), email: email.settings, smtpPassword: try email.password())
            let data = try await options.client().raw("POST", "/api/v1/notifications/channels", body: body)
            if options.json { return Output.json(data) }
            let created = try HubDecoding.decode(ChannelCreated.self, data)
            print("Added channel \(created.channel.name) (\(created.channel.id)). Try it: mzpanel notifications test \(created.channel.name)")
            if let secret = created.secret {
                print("Signing secret (shown once; verify X-MZPanel-Signature with it, see docs/api.md): \(secret)")
            }
        }
    }

    struct Edit: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "edit", abstract: "Change a channel's name, URL, rules or email settings.")
        @Argument(help: "Channel id or name.") var channel: String
        @Option(name: .long, help: "A new name.") var name: String?
        @Option(name: .long, help: "A new URL or SMTP server.") var url: String?
        @OptionGroup var email: EmailOptions
        @OptionGroup var rules: RuleOptions
        @OptionGroup var options: ClientOptions

        func run() async throws {
            let client = try options.client()
            let current = try HubDecoding.decode(ChannelList.self, try await client.raw("GET", "/api/v1/notifications/channels"))
                .channels.first { $0.id == channel || $0.name == channel }
            guard let current else { throw CLIError("no channel \"\(channel)\" in this account; see mzpanel notifications list", exitCode: 3) }
            let body = ChannelUpdate(
                name: name, url: url, rules: rules.rules(base: current.rules), email: email.settings, smtpPassword: try email.password())
            let data = try await client.raw("PATCH", "/api/v1/notifications/channels/\(current.id)", body: body)
            if options.json { return Output.json(data) }
            let changed = try HubDecoding.decode(NotificationChannel.self, data)
            Output.table(["NAME", "KIND", "WHERE", "RULES"], [NotificationsCommand.describe(changed)])
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "remove", abstract: "Remove a channel (its alert state goes with it).")
        @Argument(help: "Channel id or name.") var channel: String
        @OptionGroup var options: ClientOptions
        func run() async throws {
            let data = try await options.client().raw("DELETE", "/api/v1/notifications/channels/\(channel.pathSegment)")
            if options.json { return Output.json(data) }
            print("Removed channel \(channel).")
        }
    }

    struct Test: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "test", abstract: "Queue a test notification to a channel (see deliveries for how it went).")
        @Argument(help: "Channel id or name.") var channel: String
        @OptionGroup var options: ClientOptions
        func run() async throws {
            let data = try await options.client().raw("POST", "/api/v1/notifications/channels/\(channel.pathSegment)/test")
            if options.json { return Output.json(data) }
            print("Test notification queued. Follow it with: mzpanel notifications deliveries")
        }
    }

    struct Deliveries: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "deliveries", abstract: "The newest notifications and how their delivery went.")
        @OptionGroup var options: ClientOptions
        func run() async throws {
            let data = try await options.client().raw("GET", "/api/v1/notifications/deliveries")
            if options.json { return Output.json(data) }
            let page = try HubDecoding.decode(DeliveryList.self, data)
            if page.deliveries.isEmpty { return print("Nothing sent yet.") }
            Output.table(
                ["WHEN", "EVENT", "CHANNEL", "ATTEMPTS", "STATE"],
                page.deliveries.map { d in
                    [
                        Output.date(d.createdAt), d.event, d.channelID, String(d.attempts),
                        d.deliveredAt != nil ? "delivered" : (d.lastError.map { "retrying: " + $0 } ?? "queued"),
                    ]
                })
        }
    }
}

/// `mzpanel audit`: who changed, ran, restored or downloaded what, and when.
struct AuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "audit", abstract: "The audit log, newest first (never holds secrets).")
    @Option(name: .long, help: "Only entries about this resource id (job_…, srv_…, snp_…).") var resource: String?
    @Option(name: .long, help: "Only entries by this actor (an email, or part of a token's name).") var actor: String?
    @Option(name: .long, help: "Only entries at or after this time (ISO-8601).") var since: String?
    @Option(name: .long, help: "Page size (1–500, default 50).") var limit: Int?
    @Option(name: .long, help: "Continue after this cursor (printed under the previous page).") var cursor: String?
    @OptionGroup var options: ClientOptions

    func run() async throws {
        let data = try await options.client().raw(
            "GET", "/api/v1/audit",
            query: [
                "resource": resource, "actor": actor, "since": since,
                "limit": limit.map(String.init), "cursor": cursor,
            ])
        if options.json { return Output.json(data) }
        let page = try HubDecoding.decode(AuditList.self, data)
        if page.events.isEmpty { return print("No entries.") }
        Output.table(
            ["WHEN", "WHO", "WHAT", "RESOURCE", "STATUS"],
            page.events.map { [Output.date($0.at), $0.actor, $0.action, $0.resourceID ?? "-", String($0.status)] })
        if let next = page.nextCursor { print("More: mzpanel audit --cursor \(next)") }
    }
}
