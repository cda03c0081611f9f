import BackupCore
import Foundation
import SQLKit

/// A channel with its secret (only the notifier reads this): the key webhook requests are signed
/// with, or an email channel's SMTP password.
public struct SigningChannel: Sendable {
    public var channel: NotificationChannel
    public var secret: String
}

extension SQLHubStore {
    public func createChannel(_ channel: NotificationChannel, secret: String) async throws {
        let rules = try ColumnJSON.encode(channel.rules)
        let email = try channel.email.map(ColumnJSON.encode)
        try await write { db in
            try await Self.refuseDuplicateChannelName(channel, on: db)
            try await db.raw(
                """
                INSERT INTO notification_channels (id, account_id, name, kind, url, secret, rules, created_at, email)
                VALUES (\(bind: channel.id), \(bind: channel.accountID), \(bind: channel.name), \(bind: channel.kind.rawValue), \(bind: channel.url),
                        \(bind: secret), \(bind: rules), \(bind: channel.createdAt.millisecondsSince1970), \(bind: email))
                """
            ).run()
        }
    }

    /// Stores a changed channel; a nil secret keeps the stored one.
    public func updateChannel(_ channel: NotificationChannel, secret: String?) async throws {
        let rules = try ColumnJSON.encode(channel.rules)
        let email = try channel.email.map(ColumnJSON.encode)
        try await write { db in
            try await Self.refuseDuplicateChannelName(channel, on: db)
            try await db.raw(
                """
                UPDATE notification_channels SET name = \(bind: channel.name), url = \(bind: channel.url), rules = \(bind: rules), email = \(bind: email)
                WHERE id = \(bind: channel.id) AND account_id = \(bind: channel.accountID)
                """
            ).run()
            if let secret {
                try await db.raw(
                    "UPDATE notification_channels SET secret = \(bind: secret) WHERE id = \(bind: channel.id) AND account_id = \(bind: channel.accountID)"
                ).run()
            }
        }
    }

    static func refuseDuplicateChannelName(_ channel: NotificationChannel, on db: any SQLDatabase) async throws {
        if try await db.raw(
            """
            SELECT id FROM notification_channels WHERE account_id = \(bind: channel.accountID) AND name = \(bind: channel.name) AND id <> \(bind: channel.id)
            """
        ).first() != nil {
            throw DomainError.conflict("name", "a channel named \"\(channel.name)\" already exists; choose another name")
        }
    }

    public func channels(accountID: String) async throws -> [NotificationChannel] {
        try await signingChannels(accountID: accountID).map(\.channel)
    }

    /// Channels with their signing secrets: of one account, or of every account (nil).
    public func signingChannels(accountID: String?) async throws -> [SigningChannel] {
        try await read { db in
            let rows = try await
                (accountID.map { db.raw("SELECT * FROM notification_channels WHERE account_id = \(bind: $0) ORDER BY name") }
                ?? db.raw("SELECT * FROM notification_channels ORDER BY account_id, name")).all()
            return try rows.map { row in
                guard let kind = ChannelKind(rawValue: try row.text("kind")) else { throw StoreError.corrupt("notification_channels.kind") }
                let channel = NotificationChannel(
                    id: try row.text("id"), accountID: try row.text("account_id"), name: try row.text("name"), kind: kind,
                    url: try row.text("url"), rules: try row.document("rules", as: NotificationRules.self),
                    createdAt: try row.date("created_at"),
                    email: try row.optionalText("email").map { try ColumnJSON.decode(EmailSettings.self, $0, column: "email") })
                return SigningChannel(channel: channel, secret: try row.text("secret"))
            }
        }
    }

    public func deleteChannel(accountID: String, reference: String) async throws -> Bool {
        try await write { db in
            guard
                let row = try await db.raw(
                    "SELECT id FROM notification_channels WHERE account_id = \(bind: accountID) AND (id = \(bind: reference) OR name = \(bind: reference))"
                ).first()
            else {
                return false
            }
            let id = try row.text("id")
            try await db.raw("DELETE FROM alert_states WHERE channel_id = \(bind: id)").run()
            try await db.raw("DELETE FROM notification_channels WHERE id = \(bind: id)").run()
            return true
        }
    }

    public func alertStates(channelID: String) async throws -> [String: AlertState] {
        try await read { db in
            var states: [String: AlertState] = [:]
            for row in try await db.raw("SELECT job_id, state FROM alert_states WHERE channel_id = \(bind: channelID)").all() {
                states[try row.text("job_id")] = try row.document("state", as: AlertState.self)
            }
            return states
        }
    }

    /// Stores the new alert state and, atomically with it, the delivery it causes.
    public func putAlertState(channelID: String, jobID: String, state: AlertState?, delivery: NotificationDelivery?) async throws {
        let text = try state.map(ColumnJSON.encode)
        try await write { db in
            try await db.raw("DELETE FROM alert_states WHERE channel_id = \(bind: channelID) AND job_id = \(bind: jobID)").run()
            if let text {
                try await db.raw("INSERT INTO alert_states (channel_id, job_id, state) VALUES (\(bind: channelID), \(bind: jobID), \(bind: text))")
                    .run()
            }
            if let delivery { try await Self.insert(delivery, db) }
        }
    }

    public func enqueueDelivery(_ delivery: NotificationDelivery) async throws {
        try await write { db in try await Self.insert(delivery, db) }
    }

    static func insert(_ d: NotificationDelivery, _ db: any SQLDatabase) async throws {
        try await db.raw(
            """
            INSERT INTO notification_deliveries (id, account_id, channel_id, event, body, attempts, next_attempt_at, delivered_at, last_error, created_at)
            VALUES (\(bind: d.id), \(bind: d.accountID), \(bind: d.channelID), \(bind: d.event), \(bind: d.body), \(bind: d.attempts),
                    \(bind: d.nextAttemptAt.millisecondsSince1970), \(bind: d.deliveredAt.milliseconds), \(bind: d.lastError), \(bind: d.createdAt.millisecondsSince1970))
            """
        ).run()
    }

    /// Undelivered notifications whose next attempt is due, across accounts, oldest first.
    public func dueDeliveries(now: Date, limit: Int) async throws -> [NotificationDelivery] {
        try await read { db in
            try await db.raw(
                """
                SELECT * FROM notification_deliveries WHERE delivered_at IS NULL AND attempts < \(bind: NotificationDelivery.maxAttempts)
                  AND next_attempt_at <= \(bind: now.millisecondsSince1970) ORDER BY next_attempt_at LIMIT \(literal: limit)
                """
            ).all().map(Self.delivery)
        }
    }

    public func updateDelivery(_ d: NotificationDelivery) async throws {
        try await write { db in
            try await db.raw(
                """
                UPDATE notification_deliveries SET attempts = \(bind: d.attempts), next_attempt_at = \(bind: d.nextAttemptAt.millisecondsSince1970),
                  delivered_at = \(bind: d.deliveredAt.milliseconds), last_error = \(bind: d.lastError) WHERE id = \(bind: d.id)
                """
            ).run()
        }
    }

    public func deliveries(accountID: String, limit: Int) async throws -> [NotificationDelivery] {
        try await read { db in
            try await db.raw(
                "SELECT * FROM notification_deliveries WHERE account_id = \(bind: accountID) ORDER BY created_at DESC, id DESC LIMIT \(literal: limit)"
            )
            .all().map(Self.delivery)
        }
    }

    static func delivery(_ row: any SQLRow) throws -> NotificationDelivery {
        NotificationDelivery(
            id: try row.text("id"), accountID: try row.text("account_id"), channelID: try row.text("channel_id"), event: try row.text("event"),
            body: try row.text("body"), attempts: Int(try row.integer("attempts")), nextAttemptAt: try row.date("next_attempt_at"),
            deliveredAt: try row.optionalDate("delivered_at"), lastError: try row.optionalText("last_error"), createdAt: try row.date("created_at"))
    }
}
