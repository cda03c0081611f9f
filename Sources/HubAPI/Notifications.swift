import BackupCore
import Foundation

/// `POST /api/v1/notifications/channels`: a new channel.
public struct ChannelRequest: Codable, Sendable {
    public let name: String
    public let kind: String?
    public let url: String
    public let rules: NotificationRules?
    /// Email channels: sender, recipients, SMTP user name — and the SMTP password (never shown again).
    public let email: EmailSettings?
    public let smtpPassword: String?
    public init(name: String, kind: String?, url: String, rules: NotificationRules?, email: EmailSettings?, smtpPassword: String?) {
        self.name = name
        self.kind = kind
        self.url = url
        self.rules = rules
        self.email = email
        self.smtpPassword = smtpPassword
    }
}

/// `PATCH /api/v1/notifications/channels/{channel}`: what changes.
public struct ChannelUpdate: Codable, Sendable {
    public let name: String?
    public let url: String?
    public let rules: NotificationRules?
    public let email: EmailSettings?
    public let smtpPassword: String?
    public init(name: String?, url: String?, rules: NotificationRules?, email: EmailSettings?, smtpPassword: String?) {
        self.name = name
        self.url = url
        self.rules = rules
        self.email = email
        self.smtpPassword = smtpPassword
    }
}

/// A new channel with its webhook signing secret, shown once.
public struct ChannelCreated: Codable, Sendable {
    public let channel: NotificationChannel
    /// Webhooks: the signing secret (`whsec_…`), shown once; receivers verify X-MZPanel-Signature with it.
    public let secret: String?
    public init(channel: NotificationChannel, secret: String?) {
        self.channel = channel
        self.secret = secret
    }
}

/// The account's channels.
public struct ChannelList: Codable, Sendable {
    public let channels: [NotificationChannel]
    public init(channels: [NotificationChannel]) { self.channels = channels }
}

/// One notification sent (or being retried) to a channel.
public struct DeliveryView: Codable, Sendable {
    public let id: String
    public let channelID: String
    public let event: String
    public let attempts: Int
    public let createdAt: Date
    public let deliveredAt: Date?
    public let nextAttemptAt: Date?
    public let lastError: String?
    public init(_ delivery: NotificationDelivery) {
        id = delivery.id
        channelID = delivery.channelID
        event = delivery.event
        attempts = delivery.attempts
        createdAt = delivery.createdAt
        deliveredAt = delivery.deliveredAt
        nextAttemptAt = delivery.deliveredAt == nil && delivery.attempts < NotificationDelivery.maxAttempts ? delivery.nextAttemptAt : nil
        lastError = delivery.lastError
    }
}

/// A channel's recent deliveries.
public struct DeliveryList: Codable, Sendable {
    public let deliveries: [DeliveryView]
    public init(deliveries: [DeliveryView]) { self.deliveries = deliveries }
}
