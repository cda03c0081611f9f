import BackupCore
import Foundation
import Redaction
import SecretFiles
import Store

/// Sends an email channel's notification with curl's SMTP client: STARTTLS when the server offers
/// it (required when a password is set) for `smtp://`, TLS from the start for `smtps://`. The
/// message is a 0600 file removed afterwards; the login reaches curl as a config on its standard
/// input, so no password is ever in a process's arguments.
enum MailSender {
    static func send(_ delivery: NotificationDelivery, via signing: SigningChannel) async -> String? {
        let channel = signing.channel
        guard let email = channel.email else { return "the email channel has no sender and recipients" }
        guard let content = try? JSONSerialization.jsonObject(with: Data(delivery.body.utf8)) as? [String: String],
            let subject = content["subject"], let text = content["text"]
        else { return "the notification is not an email" }
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("mzpanel-mail-\(delivery.id).eml").path
        // In the shared temporary directory: created 0600 in one step, never through a planted symlink.
        guard (try? SecretFile.write(Data(message(delivery, email: email, subject: subject, text: text).utf8), to: file)) != nil else {
            return "the message could not be written to \(file)"
        }
        defer { try? FileManager.default.removeItem(atPath: file) }
        let password = signing.secret
        var arguments = ["--silent", "--show-error", "--max-time", "30", "--url", channel.url, "--mail-from", email.from]
        for recipient in email.to { arguments += ["--mail-rcpt", recipient] }
        if channel.url.hasPrefix("smtp://") { arguments.append(email.username != nil && !password.isEmpty ? "--ssl-reqd" : "--ssl") }
        arguments += ["--upload-file", file, "--config", "-"]
        var config = ""
        if let username = email.username { config = "user = \"\(quoted(username)):\(quoted(password))\"\n" }
        let (status, stderr) = await run("/usr/bin/curl", arguments, stdin: config)
        guard status == 0 else {
            let reason = Redactor(secrets: [password]).redact(stderr).trimmingCharacters(in: .whitespacesAndNewlines)
            return "the SMTP server did not accept the message (curl exit \(status)\(reason.isEmpty ? "" : ": " + String(reason.prefix(300))))"
        }
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

    /// curl config quoting: backslash and double quote escaped.
    static func quoted(_ text: String) -> String {
        text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
    }

    /// Runs a program to its end, feeding `stdin`; its exit status and standard error.
    static func run(_ executable: String, _ arguments: [String], stdin: String) async -> (Int32, String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let input = Pipe()
        let errors = Pipe()
        process.standardInput = input
        process.standardOutput = FileHandle.nullDevice
        process.standardError = errors
        return await withCheckedContinuation { continuation in
            process.terminationHandler = { finished in
                let text = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
                continuation.resume(returning: (finished.terminationStatus, text))
            }
            do {
                try process.run()
                input.fileHandleForWriting.write(Data(stdin.utf8))
                try? input.fileHandleForWriting.close()
            } catch {
                process.terminationHandler = nil
                continuation.resume(returning: (-1, "\(executable) could not be started: \(error)"))
            }
        }
    }
}
