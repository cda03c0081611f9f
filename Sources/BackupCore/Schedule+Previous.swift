import Foundation

extension Schedule {
    /// The latest elapse at or before `date` (nil if none in the last ~13 months), found by
    /// widening the look-back window so frequent schedules stay cheap.
    public func previousElapse(atOrBefore date: Date) -> Date? {
        for window: TimeInterval in [3_600, 86_400, 32 * 86_400, 400 * 86_400] {
            guard var candidate = nextElapse(after: date.addingTimeInterval(-window)), candidate <= date else { continue }
            while let next = nextElapse(after: candidate), next <= date { candidate = next }
            return candidate
        }
        return nil
    }
}
