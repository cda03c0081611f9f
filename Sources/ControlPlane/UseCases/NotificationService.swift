import BackupCore
import Foundation
import HubAPI
import Store

/// Notification channels as use cases (the API and the alerts page both call these).
struct NotificationService {
    let hub: HubServices

    /// Validates and stores a new channel; the webhook signing secret is answered once.
    /// The account's channels with their addresses (a webhook URL is often a credential itself).
    func list(accountID: String) async throws -> [NotificationChannel] {
        try Access.require(.readSecrets)
        return try await hub.store.channels(accountID: accountID)
    }

    func create(_ body: ChannelRequest, accountID: String) async throws -> ChannelCreated {
        try Access.require(.manageNotifications)
        let kindText = body.kind ?? "webhook"
        guard let kind = ChannelKind(rawValue: kindText.lowercased()) else {
            throw DomainError.invalid("kind", "\"\(kindText)\" is not a channel kind; use webhook, slack, discord or email")
        }
        let rules = try (body.rules ?? NotificationRules()).validated()
        let channel = NotificationChannel(
            id: ResourceID.make(.channel), accountID: accountID, name: try Name.validate(body.name), kind: kind,
            url: try NotificationChannel.validatedURL(body.url, kind: kind), rules: rules, createdAt: hub.clock.now(),
            email: try Self.email(body.email, kind: kind))
        let secret = kind == .email ? try Self.password(body.smtpPassword) ?? "" : Secrets.make(prefix: "whsec")
        try await hub.store.createChannel(channel, secret: secret)
        return ChannelCreated(channel: channel, secret: kind == .email ? nil : secret)
    }

    /// Changes a channel's name, address, rules or email settings; omitted fields stay.
    func update(_ reference: String, with body: ChannelUpdate, accountID: String) async throws -> NotificationChannel {
        try Access.require(.manageNotifications)
        var channel = try await channel(reference, accountID: accountID)
        if let name = body.name { channel.name = try Name.validate(name) }
        if let url = body.url { channel.url = try NotificationChannel.validatedURL(url, kind: channel.kind) }
        if let rules = body.rules { channel.rules = try rules.validated() }
        if body.email != nil { channel.email = try Self.email(body.email, kind: channel.kind) }
        if body.smtpPassword != nil && channel.kind != .email {
            throw DomainError.invalid("smtpPassword", "only email channels have an SMTP password")
        }
        try await hub.store.updateChannel(channel, secret: try Self.password(body.smtpPassword))
        return channel
    }

    func delete(_ reference: String, accountID: String) async throws {
        try Access.require(.manageNotifications)
        guard try await hub.store.deleteChannel(accountID: accountID, reference: reference) else { throw Self.notFound(reference) }
    }

    /// Queues a test notification to the channel.
    func queueTest(_ channel: NotificationChannel) async throws -> NotificationDelivery {
        try Access.require(.manageNotifications)
        let delivery = try HubNotifier.delivery(
            channel: channel, event: "test", message: "A test notification from MZPanel Backups for channel \(channel.name).",
            link: nil, now: hub.clock.now())
        try await hub.store.enqueueDelivery(delivery)
        return delivery
    }

    /// The channel with this id or name.
    func channel(_ reference: String, accountID: String) async throws -> NotificationChannel {
        guard let channel = try await hub.store.channels(accountID: accountID).first(where: { $0.id == reference || $0.name == reference }) else {
            throw Self.notFound(reference)
        }
        return channel
    }

    static func notFound(_ reference: String) -> DomainError {
        DomainError(.notFound, "no notification channel \"\(reference)\" in this account")
    }

    /// Email settings are required for email channels and refused for the others.
    static func email(_ settings: EmailSettings?, kind: ChannelKind) throws -> EmailSettings? {
        guard kind == .email else {
            if settings != nil { throw DomainError.invalid("email", "only email channels take email settings") }
            return nil
        }
        guard let settings else {
            throw DomainError.invalid("email", "an email channel needs email.from and email.to (the sender and 1 to 20 recipients)")
        }
        return try settings.validated()
    }

    static func password(_ text: String?) throws -> String? {
        guard let text else { return nil }
        guard text.count <= 500, !text.contains(where: \.isNewline) else {
            throw DomainError.invalid("smtpPassword", "the SMTP password is longer than 500 characters or contains a line break")
        }
        return text
    }
}
