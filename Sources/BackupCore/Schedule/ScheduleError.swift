import Foundation

/// A schedule that could not be understood.
///
/// `fragment` is the offending part of `input` (for example `25` in `*-*-* 25:00`) and
/// `reason` says in plain words what is wrong and what would be accepted. `description`
/// combines them for display: `schedule "*-*-* 25:00": "25" is not an hour (0–23)`.
public struct ScheduleError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The text the caller passed to ``Schedule/parse(_:timeZone:)`` (or the time zone, when
    /// the time zone is what is wrong).
    public let input: String
    /// The bad part of the input.
    public let fragment: String
    /// What is wrong and what is accepted.
    public let reason: String

    public init(input: String, fragment: String, reason: String) {
        self.input = input
        self.fragment = fragment
        self.reason = reason
    }

    public var description: String {
        "schedule \"\(input)\": \(reason)"
    }
}

extension ScheduleError {
    /// Quotes a fragment for use inside a reason.
    static func quoted(_ text: String) -> String { "\"\(text)\"" }
}
