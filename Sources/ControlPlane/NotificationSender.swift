import BackupCore
import Crypto
import Foundation
import Logging
import Store

/// Delivers queued notifications: webhooks, Slack and Discord by HTTPS POST (signed), email by
/// SMTP, both through curl with its settings on standard input (never in its arguments), to checked
/// addresses only (`OutboundAddress`).
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
            let problem =
                channel.channel.kind == .email
                ? await MailSender.send(delivery, via: channel, allowPrivate: hub.configuration.allowPrivateWebhooks)
                : await post(delivery, to: channel, at: now)
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
    /// The host's addresses are checked first (`OutboundAddress`), redirects are not followed, and
    /// the receiver's answer is never quoted back (only its status).
    func post(_ delivery: NotificationDelivery, to signing: SigningChannel, at now: Date) async -> String? {
        guard let components = URLComponents(string: signing.channel.url), let scheme = components.scheme?.lowercased(),
            scheme == "http" || scheme == "https", let host = components.host, !host.isEmpty
        else { return "the channel URL is not valid" }
        let port = components.port ?? (scheme == "https" ? 443 : 80)
        let addresses: [String]
        do {
            addresses = try await OutboundAddress.resolve(host: host, port: port, allowPrivate: hub.configuration.allowPrivateWebhooks)
        } catch let refused as OutboundAddress.Refused {
            return "not sent: " + refused.description
        } catch {
            return "not sent: the receiver's address could not be checked"
        }
        let arguments =
            Curl.guarded(protocols: "=http,https", host: host, port: port, addresses: addresses, seconds: 10)
            + ["--request", "POST", "--output", "/dev/null", "--write-out", "%{http_code}"]
        let headers = [
            "Content-Type: application/json",
            "User-Agent: mzpanel-hub/\(hubVersion)",
            "X-MZPanel-Event: \(delivery.event)",
            "X-MZPanel-Delivery: \(delivery.id)",
            "X-MZPanel-Signature: " + WebhookSignature.header(body: delivery.body, secret: signing.secret, at: now),
        ]
        let config =
            "url = \"\(Curl.quoted(signing.channel.url))\"\n" + headers.map { "header = \"\(Curl.quoted($0))\"\n" }.joined()
            + "data-binary = \"\(Curl.quoted(delivery.body))\"\n"
        let (status, output) = await Curl.run(arguments, config: config)
        let code = Int(output.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
        if (200..<300).contains(code) { return nil }
        if (300..<400).contains(code) { return "the receiver answered HTTP \(code), a redirect, which the hub does not follow" }
        if code != 0 { return "the receiver answered HTTP \(code)" }
        return "the receiver could not be reached (\(Curl.describe(status)))"
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
