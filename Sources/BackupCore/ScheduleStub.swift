import Foundation
// TEMPORARY until Schedule/Schedule.swift lands.
public struct Schedule: Sendable, Hashable, Codable {
    public let calendar: String
    public let timeZone: String
    public static func parse(_ input: String, timeZone: String = "UTC") throws -> Schedule { Schedule(calendar: input, timeZone: timeZone) }
    public func nextElapses(after date: Date, count: Int) -> [Date] { [] }
    public func nextElapse(after date: Date) -> Date? { nil }
    public var onCalendarLine: String { calendar + " " + timeZone }
}
public struct ScheduleError: Error, CustomStringConvertible { public let fragment: String; public var description: String { fragment } }
