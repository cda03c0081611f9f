import BackupCore
import Foundation
import HubAPI
import Hummingbird
import Store

/// Notification channels (signed webhooks, Slack, Discord, email) and what was sent to them.
struct NotificationRoutes {
    let hub: HubServices
    var notifications: NotificationService { NotificationService(hub: hub) }

    func register(on api: inout APIRouter) {
        api.on(.get, "/api/v1/notifications/channels", summary: "List notification channels", tag: "notifications", response: "ChannelList", list)
        api.on(
            .post, "/api/v1/notifications/channels", summary: "Add a notification channel; answers its signing secret once", tag: "notifications",
            body: "ChannelRequest", response: "ChannelCreated", status: 201, create)
        api.on(
            .patch, "/api/v1/notifications/channels/{channel}", summary: "Change a channel's name, address, rules or email settings",
            tag: "notifications", body: "ChannelUpdate", response: "NotificationChannel", update)
        api.on(
            .delete, "/api/v1/notifications/channels/{channel}", summary: "Remove a notification channel", tag: "notifications",
            response: "Deleted", delete)
        api.on(
            .post, "/api/v1/notifications/channels/{channel}/test", summary: "Send a test notification to a channel", tag: "notifications",
            response: "DeliveryView", status: 202, test)
        api.on(
            .get, "/api/v1/notifications/deliveries", summary: "The newest 100 notifications and how their delivery went", tag: "notifications",
            response: "DeliveryList", deliveries)
    }

    @Sendable func list(_ request: Request, _ context: HubRequestContext) async throws -> JSONBody<ChannelList> {
        JSONBody(ChannelList(channels: try await notifications.list(accountID: try context.accountID())))
    }

    @Sendable func create(_ request: Request, _ context: HubRequestContext) async throws -> JSONBody<ChannelCreated> {
        let accountID = try context.accountID()
        return JSONBody(
            try await notifications.create(try await request.decodeJSON(ChannelRequest.self, context: context), accountID: accountID),
            status: .created)
    }

    @Sendable func update(_ request: Request, _ context: HubRequestContext) async throws -> JSONBody<NotificationChannel> {
        let accountID = try context.accountID()
        let reference = try context.parameter("channel")
        let body = try await request.decodeJSON(ChannelUpdate.self, context: context)
        return JSONBody(try await notifications.update(reference, with: body, accountID: accountID))
    }

    @Sendable func delete(_ request: Request, _ context: HubRequestContext) async throws -> JSONBody<Deleted> {
        try await notifications.delete(try context.parameter("channel"), accountID: try context.accountID())
        return JSONBody(Deleted())
    }

    @Sendable func test(_ request: Request, _ context: HubRequestContext) async throws -> JSONBody<DeliveryView> {
        let channel = try await notifications.channel(try context.parameter("channel"), accountID: try context.accountID())
        return JSONBody(DeliveryView(try await notifications.queueTest(channel)), status: .accepted)
    }

    @Sendable func deliveries(_ request: Request, _ context: HubRequestContext) async throws -> JSONBody<DeliveryList> {
        JSONBody(DeliveryList(deliveries: try await hub.store.deliveries(accountID: try context.accountID(), limit: 100).map(DeliveryView.init)))
    }
}
