import BackupCore
import Foundation
import Store

/// Sends an email channel's notification with curl's SMTP client: STARTTLS when the server offers
/// it (required when a password is set) for `smtp://`, TLS from the start for `smtps://`. The
/// message is a 0600 file removed afterwards; the login reaches curl as a config on its standard
/// input, so no password is ever in a process's arguments. The server's addresses are checked
/// first and pinned (`OutboundAddress`), as for webhooks.
enum MailSender {
    static func send(_ delivery: NotificationDelivery, via signing: SigningChannel, allowPrivate: Bool) async -> String? {
        let channel = signing.channel
        guard let email = channel.email else { return "the email channel has no sender and recipients" }
        guard let content = try? JSONSerialization.jsonObject(with: Data(delivery.body.utf8)) as? [String: String],
            let subject = content["subject"], let text = content["text"]
        else { return "the notification is not an email" }
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("mzpanel-mail-\(delivery.id).eml").path
        guard
            FileManager.default.createFile(
                atPath: file, contents: Data(message(delivery, email: email, subject: subject, text: text).utf8),
                attributes: [.posixPermissions: 0o600])
        else { return "the message could not be written to \(file)" }
        defer { try? FileManager.default.removeItem(atPath: file) }
        guard let components = URLComponents(string: channel.url), let scheme = components.scheme?.lowercased(),
            scheme == "smtp" || scheme == "smtps", let host = components.host, !host.isEmpty
        else { return "the channel's SMTP URL is not valid" }
        let port = components.port ?? (scheme == "smtps" ? 465 : 25)
        let addresses: [String]
        do {
            addresses = try await OutboundAddress.resolve(host: host, port: port, allowPrivate: allowPrivate)
        } catch let refused as OutboundAddress.Refused {
            return "not sent: " + refused.description
        } catch {
            return "not sent: the SMTP server's address could not be checked"
        }
        let password = signing.secret
        var arguments =
            Curl.guarded(protocols: "=smtp,smtps", host: host, port: port, addresses: addresses, seconds: 30)
            + ["--url", channel.url, "--mail-from", email.from]
        for recipient in email.to { arguments += ["--mail-rcpt", recipient] }
        if scheme == "smtp" { arguments.append(email.username != nil && !password.isEmpty ? "--ssl-reqd" : "--ssl") }
        arguments += ["--upload-file", file]
        var config = ""
        if let username = email.username { config = "user = \"\(Curl.quoted(username)):\(Curl.quoted(password))\"\n" }
        let (status, _) = await Curl.run(arguments, config: config)
        // curl's own message is not shown: it can quote the server's reply.
        guard status == 0 else { return "the SMTP server did not accept the message (\(Curl.describe(status)))" }
        return nil
    }

    /// The RFC 5322 message: UTF-8 text, subject encoded for non-ASCII.
    static func message(_ delivery: NotificationDelivery, email: EmailSettings, subject: String, text: String) -> String {
        let headers = [
            "From: MZPanel Backups <\(email.from)>",
            "To: " + email.to.joined(separator: ", "),
            "Subject: =?UTF-8?B?\(Data(subject.utf8).base64EncodedString())?=",
            "Date: " + rfc2822(delivery.createdAt),
            "Message-ID: <\(delivery.id)@mzpanel>",
            "MIME-Version: 1.0",
            "Content-Type: text/plain; charset=utf-8",
            "Content-Transfer-Encoding: 8bit",
            "X-MZPanel-Event: " + delivery.event,
        ]
        let body = text.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\n", with: "\r\n")
        return headers.joined(separator: "\r\n") + "\r\n\r\n" + body
    }

    static func rfc2822(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss '+0000'"
        return formatter.string(from: date)
    }
}
