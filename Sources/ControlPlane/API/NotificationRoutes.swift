import BackupCore
import Foundation
import Hummingbird
import Store

/// Notification channels (signed webhooks, Slack, Discord) and what was sent to them.
struct NotificationRoutes {
    let hub: HubServices

    struct ChannelRequest: Decodable { let name: String; let kind: String?; let url: String; let rules: NotificationRules? }
    struct ChannelCreated: Encodable, Sendable {
        let channel: NotificationChannel
        /// The signing secret (`whsec_…`), shown once: receivers verify X-MZPanel-Signature with it.
        let secret: String
    }
    struct ChannelList: Encodable, Sendable { let channels: [NotificationChannel] }
    struct DeliveryView: Encodable, Sendable {
        let id: String, channelID: String, event: String, attempts: Int, createdAt: Date, deliveredAt: Date?, nextAttemptAt: Date?, lastError: String?
        init(_ d: NotificationDelivery) {
            id = d.id; channelID = d.channelID; event = d.event; attempts = d.attempts; createdAt = d.createdAt; deliveredAt = d.deliveredAt
            nextAttemptAt = d.deliveredAt == nil && d.attempts < NotificationDelivery.maxAttempts ? d.nextAttemptAt : nil; lastError = d.lastError
        }
    }
    struct DeliveryList: Encodable, Sendable { let deliveries: [DeliveryView] }

    func register(on api: inout APIRouter) {
        api.on(.get, "/api/v1/notifications/channels", summary: "List notification channels", tag: "notifications", response: "ChannelList") { _, context in
            JSONBody(ChannelList(channels: try await hub.store.channels(accountID: try context.accountID())))
        }
        api.on(.post, "/api/v1/notifications/channels", summary: "Add a notification channel; answers its signing secret once", tag: "notifications",
               body: "ChannelRequest", response: "ChannelCreated", status: 201) { request, context in
            let accountID = try context.accountID()
            let body = try await request.decodeJSON(ChannelRequest.self, context: context)
            let kindText = body.kind ?? "webhook"
            guard let kind = ChannelKind(rawValue: kindText.lowercased()) else {
                throw APIError.badRequest("\"\(kindText)\" is not a channel kind; use webhook, slack or discord", field: "kind")
            }
            let rules = try (body.rules ?? NotificationRules()).validated()
            let channel = NotificationChannel(id: ResourceID.make(.channel), accountID: accountID, name: try Name.validate(body.name), kind: kind,
                                              url: try NotificationChannel.validatedURL(body.url), rules: rules, createdAt: hub.clock.now())
            let secret = Secrets.make(prefix: "whsec")
            try await hub.store.createChannel(channel, secret: secret)
            return JSONBody(ChannelCreated(channel: channel, secret: secret), status: .created)
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
            guard let channel = try await hub.store.channels(accountID: accountID).first(where: { $0.id == reference || $0.name == reference }) else {
                throw APIError.notFound(.channel, reference)
            }
            let delivery = try HubNotifier.delivery(channel: channel, event: "test", message: "A test notification from MZPanel Backups for channel \(channel.name).",
                                                    link: nil, now: hub.clock.now())
            try await hub.store.enqueueDelivery(delivery)
            return JSONBody(DeliveryView(delivery), status: .accepted)
        }
        api.on(.get, "/api/v1/notifications/deliveries", summary: "The newest 100 notifications and how their delivery went", tag: "notifications",
               response: "DeliveryList") { _, context in
            JSONBody(DeliveryList(deliveries: try await hub.store.deliveries(accountID: try context.accountID(), limit: 100).map(DeliveryView.init)))
        }
    }
}
