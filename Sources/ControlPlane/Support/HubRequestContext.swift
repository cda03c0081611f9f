import BackupCore
import Foundation
import Hummingbird

/// Who is calling: the account every lookup is confined to, and how they proved it.
public struct Caller: Sendable {
    public enum Method: Sendable { case apiToken(id: String), session(id: String) }
    public let accountID: String
    public let method: Method
}

/// The hub's request context: the core context plus the authenticated caller.
public struct HubRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    public var caller: Caller?

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.caller = nil
    }

    public var maxUploadSize: Int { 256 * 1024 }
    public var requestDecoder: JSONDecoder { HubJSON.decoder() }
    public var responseEncoder: JSONEncoder { HubJSON.encoder() }

    /// The caller's account id; throws 401 when the request is not authenticated.
    public func accountID() throws -> String {
        guard let caller else { throw APIError.unauthorized }
        return caller.accountID
    }
}

/// JSON conventions of the API: ISO-8601 times with milliseconds, sorted keys.
public enum HubJSON {
    public static func encoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(format(date))
        }
        return encoder
    }

    public static func decoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .custom { decoder in
            let container = try decoder.singleValueContainer()
            let text = try container.decode(String.self)
            guard let date = parse(text) else {
                throw DecodingError.dataCorruptedError(in: container, debugDescription: "\"\(text)\" is not an ISO-8601 time such as 2026-01-31T02:30:00Z")
            }
            return date
        }
        return decoder
    }

    public static func format(_ date: Date) -> String {
        date.formatted(.iso8601.year().month().day().time(includingFractionalSeconds: true).timeZone(separator: .omitted))
    }

    /// Parses ISO-8601 with or without fractional seconds, or a bare date (midnight UTC).
    public static func parse(_ text: String) -> Date? {
        if let date = try? Date(text, strategy: .iso8601.year().month().day().time(includingFractionalSeconds: true).timeZone(separator: .omitted)) { return date }
        if let date = try? Date(text, strategy: .iso8601) { return date }
        if let date = try? Date(text, strategy: .iso8601.year().month().day()) { return date }
        return nil
    }
}
