import BackupCore
import Foundation
import HubAPI
import Hummingbird
import Store

/// Notification channels (signed webhooks, Slack, Discord, email) and what was sent to them.
struct NotificationRoutes {
    let hub: HubServices

    func register(on api: inout APIRouter) {
        api.on(.get, "/api/v1/notifications/channels", summary: "List notification channels", tag: "notifications", response: "ChannelList") { _, context in
            JSONBody(ChannelList(channels: try await hub.store.channels(accountID: try context.accountID())))
        }
        api.on(.post, "/api/v1/notifications/channels", summary: "Add a notification channel; answers its signing secret once", tag: "notifications",
               body: "ChannelRequest", response: "ChannelCreated", status: 201) { request, context in
            let accountID = try context.accountID()
            let created = try await create(try await request.decodeJSON(ChannelRequest.self, context: context), accountID: accountID)
            return JSONBody(created, status: .created)
        }
        api.on(.patch, "/api/v1/notifications/channels/{channel}", summary: "Change a channel's name, address, rules or email settings",
               tag: "notifications", body: "ChannelUpdate", response: "NotificationChannel") { request, context in
            let accountID = try context.accountID()
            var channel = try await channel(try context.parameter("channel"), accountID: accountID)
            let body = try await request.decodeJSON(ChannelUpdate.self, context: context)
            if let name = body.name { channel.name = try Name.validate(name) }
            if let url = body.url { channel.url = try NotificationChannel.validatedURL(url, kind: channel.kind) }
            if let rules = body.rules { channel.rules = try rules.validated() }
            if body.email != nil { channel.email = try Self.email(body.email, kind: channel.kind) }
            if body.smtpPassword != nil && channel.kind != .email {
                throw APIError.badRequest("only email channels have an SMTP password", field: "smtpPassword")
            }
            try await hub.store.updateChannel(channel, secret: try Self.password(body.smtpPassword))
            return JSONBody(channel)
        }
        api.on(.delete, "/api/v1/notifications/channels/{channel}", summary: "Remove a notification channel", tag: "notifications",
               response: "Deleted") { _, context in
            let reference = try context.parameter("channel")
            guard try await hub.store.deleteChannel(accountID: try context.accountID(), reference: reference) else {
                throw APIError.notFound(.channel, reference)
            }
            return JSONBody(Deleted())
        }
        api.on(.post, "/api/v1/notifications/channels/{channel}/test", summary: "Send a test notification to a channel", tag: "notifications",
               response: "DeliveryView", status: 202) { _, context in
            let accountID = try context.accountID()
            let reference = try context.parameter("channel")
            let delivery = try await queueTest(try await channel(reference, accountID: accountID))
            return JSONBody(DeliveryView(delivery), status: .accepted)
        }
        api.on(.get, "/api/v1/notifications/deliveries", summary: "The newest 100 notifications and how their delivery went", tag: "notifications",
               response: "DeliveryList") { _, context in
            JSONBody(DeliveryList(deliveries: try await hub.store.deliveries(accountID: try context.accountID(), limit: 100).map(DeliveryView.init)))
        }
    }

    /// Validates and stores a new channel (the API and the alerts page share this).
    func create(_ body: ChannelRequest, accountID: String) async throws -> ChannelCreated {
        let kindText = body.kind ?? "webhook"
        guard let kind = ChannelKind(rawValue: kindText.lowercased()) else {
            throw APIError.badRequest("\"\(kindText)\" is not a channel kind; use webhook, slack, discord or email", field: "kind")
        }
        let rules = try (body.rules ?? NotificationRules()).validated()
        let channel = NotificationChannel(id: ResourceID.make(.channel), accountID: accountID, name: try Name.validate(body.name), kind: kind,
                                          url: try NotificationChannel.validatedURL(body.url, kind: kind), rules: rules, createdAt: hub.clock.now(),
                                          email: try Self.email(body.email, kind: kind))
        let secret = kind == .email ? try Self.password(body.smtpPassword) ?? "" : Secrets.make(prefix: "whsec")
        try await hub.store.createChannel(channel, secret: secret)
        return ChannelCreated(channel: channel, secret: kind == .email ? nil : secret)
    }

    /// Queues a test notification to the channel (the API and the alerts page share this).
    func queueTest(_ channel: NotificationChannel) async throws -> NotificationDelivery {
        let delivery = try HubNotifier.delivery(channel: channel, event: "test", message: "A test notification from MZPanel Backups for channel \(channel.name).",
                                                link: nil, now: hub.clock.now())
        try await hub.store.enqueueDelivery(delivery)
        return delivery
    }

    func channel(_ reference: String, accountID: String) async throws -> NotificationChannel {
        guard let channel = try await hub.store.channels(accountID: accountID).first(where: { $0.id == reference || $0.name == reference }) else {
            throw APIError.notFound(.channel, reference)
        }
        return channel
    }

    /// Email settings are required for email channels and refused for the others.
    static func email(_ settings: EmailSettings?, kind: ChannelKind) throws -> EmailSettings? {
        guard kind == .email else {
            if settings != nil { throw APIError.badRequest("only email channels take email settings", field: "email") }
            return nil
        }
        guard let settings else {
            throw APIError.badRequest("an email channel needs email.from and email.to (the sender and 1 to 20 recipients)", field: "email")
        }
        return try settings.validated()
    }

    static func password(_ text: String?) throws -> String? {
        guard let text else { return nil }
        guard text.count <= 500, !text.contains(where: \.isNewline) else {
            throw APIError.badRequest("the SMTP password is longer than 500 characters or contains a line break", field: "smtpPassword")
        }
        return text
    }
}
