import BackupCore
import Foundation
import HubAPI
import Hummingbird
import Store

/// `/backups/notifications`: where alerts go (webhook, Slack, Discord, email), with their rules, a
/// test button, removal, and the latest deliveries. Creation and tests go through `NotificationService`, as the API does.
struct NotificationsPage {
    let pages: WebPages
    var notifications: NotificationService { NotificationService(hub: pages.hub) }

    struct Model {
        let layout: Layout
        let channels: [ChannelRow]
        let hasChannels: Bool
        let deliveries: [DeliveryRow]
        let hasDeliveries: Bool
        let values: Values
        let error: String?
        let errorField: String?
        /// A new webhook's signing secret, shown once.
        let secret: String?
        let notice: String?
    }
    struct Values {
        var name = "", kind = "webhook", url = "", from = "", to = "", smtpUser = "", failures = "1", offlineMinutes = "30", digestHour = ""
    }
    struct ChannelRow {
        let id: String
        let name: String
        let kind: String
        let target: String
        let rules: String
    }
    struct DeliveryRow {
        let event: String
        let channel: String
        let created: TimeView
        let state: String
        let failed: Bool
    }

    func register(on router: Router<HubRequestContext>) {
        router.page(.get, "/backups/notifications", pages: pages) { request, _, caller in
            pages.render("notifications", try await model(caller, notice: request.uri.queryParameters.get("notice")))
        }
        router.page(.post, "/backups/notifications", pages: pages) { request, _, caller in
            let form = try await FormData.read(request)
            try caller.checkCSRF(form)
            var values = Values()
            values.name = form["name"] ?? ""
            values.kind = form["kind"] ?? "webhook"
            values.url = form["url"] ?? ""
            values.from = form["from"] ?? ""
            values.to = form["to"] ?? ""
            values.smtpUser = form["smtpUser"] ?? ""
            values.failures = form["failures"] ?? "1"
            values.offlineMinutes = form["offlineMinutes"] ?? ""
            values.digestHour = form["digestHour"] ?? ""
            do {
                func number(_ text: String, _ field: String) throws -> Int? {
                    let trimmed = text.trimmingSpaces
                    guard !trimmed.isEmpty else { return nil }
                    guard let value = Int(trimmed) else { throw DomainError.invalid(field, "\"\(trimmed)\" is not a whole number") }
                    return value
                }
                let rules = NotificationRules(
                    failures: try number(values.failures, "rules.failures") ?? 1, missed: form.has("missed"),
                    offlineMinutes: try number(values.offlineMinutes, "rules.offlineMinutes"), recovery: form.has("recovery"),
                    stale: form.has("stale"), digestHour: try number(values.digestHour, "rules.digestHour"))
                let recipients = values.to.split(whereSeparator: { $0 == "," || $0.isWhitespace }).map(String.init)
                let email =
                    values.kind == "email"
                    ? EmailSettings(from: values.from, to: recipients, username: values.smtpUser.isEmpty ? nil : values.smtpUser) : nil
                let password = form["smtpPassword"].flatMap { $0.isEmpty ? nil : $0 }
                let created = try await notifications.create(
                    ChannelRequest(
                        name: values.name, kind: values.kind, url: values.url, rules: rules,
                        email: email, smtpPassword: password), accountID: caller.account.id)
                return pages.render(
                    "notifications",
                    try await model(
                        caller, secret: created.secret,
                        notice: "Added \(created.channel.name). Send it a test to check it works."))
            } catch {
                guard let field = JobForm.fieldError(error) else { throw error }
                return pages.render("notifications", try await model(caller, values: values, error: field), status: .badRequest)
            }
        }
        for (action, words) in [("test", "A test notification is queued; it shows under Deliveries."), ("delete", "Removed.")] {
            router.page(.post, RouterPath("/backups/notifications/{channel}/\(action)"), pages: pages) { request, context, caller in
                try caller.checkCSRF(try await FormData.read(request, limit: 4096))
                let channel = try await notifications.channel(context.parameters.get("channel") ?? "", accountID: caller.account.id)
                if action == "test" {
                    _ = try await notifications.queueTest(channel)
                } else {
                    try await notifications.delete(channel.id, accountID: caller.account.id)
                }
                return WebResponses.redirect(
                    "/backups/notifications?notice=" + (words.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""))
            }
        }
    }

    func model(_ caller: PageCaller, values: Values = Values(), error: JobForm.FieldError? = nil, secret: String? = nil, notice: String? = nil)
        async throws -> Model
    {
        let now = pages.now
        let channels = try await pages.store.channels(accountID: caller.account.id)
        let names = Dictionary(uniqueKeysWithValues: channels.map { ($0.id, $0.name) })
        let deliveries = try await pages.store.deliveries(accountID: caller.account.id, limit: 20)
        let rows = channels.map { channel in
            let described = NotificationsPage.describe(channel)
            return ChannelRow(id: channel.id, name: channel.name, kind: channel.kind.rawValue, target: described.target, rules: described.rules)
        }
        return Model(
            layout: Layout("Alerts", section: "notifications", caller: caller), channels: rows, hasChannels: !rows.isEmpty,
            deliveries: deliveries.map { d in
                DeliveryRow(
                    event: d.event, channel: names[d.channelID] ?? d.channelID, created: TimeView(d.createdAt, now: now),
                    state: d.deliveredAt != nil ? "delivered" : d.lastError.map { "attempt \(d.attempts): \($0)" } ?? "queued",
                    failed: d.deliveredAt == nil && d.lastError != nil)
            },
            hasDeliveries: !deliveries.isEmpty, values: values, error: error?.message, errorField: error?.field, secret: secret, notice: notice)
    }

    /// Where a channel sends and its rules, in words.
    static func describe(_ channel: NotificationChannel) -> (target: String, rules: String) {
        let host = URL(string: channel.url)?.host ?? channel.url
        return (channel.email.map { "\($0.to.joined(separator: ", ")) via \(host)" } ?? host, channel.rules.summary)
    }
}
