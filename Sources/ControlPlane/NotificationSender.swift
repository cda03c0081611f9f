import BackupCore
import Crypto
import Foundation
import Logging
import Store

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// Delivers queued notifications: webhooks, Slack and Discord by HTTPS POST (signed), email by
/// SMTP through curl (the password goes to curl on its standard input, never in its arguments).
/// A failed attempt is retried later with backoff.
extension HubNotifier {
    func deliver() async throws {
        let due = try await hub.store.dueDeliveries(now: hub.clock.now(), limit: 50)
        guard !due.isEmpty else { return }
        let channels = Dictionary(uniqueKeysWithValues: try await hub.store.signingChannels(accountID: nil).map { ($0.channel.id, $0) })
        for var delivery in due {
            let now = hub.clock.now()
            guard let channel = channels[delivery.channelID] else {
                delivery.attempts = NotificationDelivery.maxAttempts
                delivery.lastError = "the channel was deleted"
                try await hub.store.updateDelivery(delivery)
                continue
            }
            delivery.attempts += 1
            let problem = channel.channel.kind == .email ? await MailSender.send(delivery, via: channel) : await post(delivery, to: channel, at: now)
            if let problem {
                delivery.lastError = problem
                delivery.nextAttemptAt = now.addingTimeInterval(
                    NotificationDelivery.backoff[min(delivery.attempts - 1, NotificationDelivery.backoff.count - 1)])
                logger.warning(
                    "notification not delivered", metadata: ["notify.delivery": "\(delivery.id)", "notify.attempt": "\(delivery.attempts)"])
            } else {
                delivery.deliveredAt = now
                delivery.lastError = nil
            }
            try await hub.store.updateDelivery(delivery)
        }
    }

    /// POSTs the body with its signature; nil when the receiver accepted it (2xx), else why not.
    func post(_ delivery: NotificationDelivery, to signing: SigningChannel, at now: Date) async -> String? {
        guard let url = URL(string: signing.channel.url) else { return "the channel URL is not valid" }
        var request = URLRequest(url: url, timeoutInterval: 10)
        request.httpMethod = "POST"
        request.httpBody = Data(delivery.body.utf8)
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.setValue("mzpanel-hub/\(hubVersion)", forHTTPHeaderField: "User-Agent")
        request.setValue(delivery.event, forHTTPHeaderField: "X-MZPanel-Event")
        request.setValue(delivery.id, forHTTPHeaderField: "X-MZPanel-Delivery")
        request.setValue(WebhookSignature.header(body: delivery.body, secret: signing.secret, at: now), forHTTPHeaderField: "X-MZPanel-Signature")
        do {
            let (_, response) = try await URLSession.shared.data(for: request)
            let status = (response as? HTTPURLResponse)?.statusCode ?? 0
            return (200..<300).contains(status) ? nil : "the receiver answered HTTP \(status)"
        } catch {
            return "the receiver could not be reached (\(error.localizedDescription))"
        }
    }
}

/// `X-MZPanel-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`: the
/// receiver recomputes it with its secret and rejects old timestamps (replays).
public enum WebhookSignature {
    public static func header(body: String, secret: String, at date: Date) -> String {
        let timestamp = String(Int(date.timeIntervalSince1970))
        return "t=\(timestamp),v1=\(hex(body: body, secret: secret, timestamp: timestamp))"
    }

    public static func hex(body: String, secret: String, timestamp: String) -> String {
        let code = HMAC<SHA256>.authenticationCode(for: Data((timestamp + "." + body).utf8), using: SymmetricKey(data: Data(secret.utf8)))
        return code.map { String(format: "%02x", $0) }.joined()
    }
}
