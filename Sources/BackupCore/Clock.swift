import Foundation

extension Date {
    /// The date truncated to whole milliseconds: the precision the hub stores and compares.
    public var wholeMilliseconds: Date {
        Date(timeIntervalSince1970: (timeIntervalSince1970 * 1000).rounded(.down) / 1000)
    }

    /// Milliseconds since 1970 (UTC), as stored in the database.
    public var millisecondsSince1970: Int64 { Int64((timeIntervalSince1970 * 1000).rounded(.down)) }

    public init(millisecondsSince1970 ms: Int64) {
        self.init(timeIntervalSince1970: Double(ms) / 1000)
    }
}

/// Tells the time; tests inject a fixed or advancing one.
public protocol HubClock: Sendable {
    func now() -> Date
}

public struct SystemClock: HubClock {
    public init() {}
    public func now() -> Date { Date().wholeMilliseconds }
}
