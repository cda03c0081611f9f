import Foundation

/// A retention policy for one destination of a job, replacing the job's own there (a job may keep
/// 7 daily locally and 12 monthly offsite). `destination` is the destination's id in a job; a
/// request may name it instead (the hub resolves it).
public struct DestinationRetention: Sendable, Codable, Equatable {
    public var destination: String
    public var retention: RetentionPolicy

    public init(destination: String, retention: RetentionPolicy) {
        self.destination = destination
        self.retention = retention
    }
}

extension Job {
    /// The policy `forget` applies at this destination: its own, else the job's.
    public func retention(for destinationID: String) -> RetentionPolicy {
        destinationRetention?.first { $0.destination == destinationID }?.retention ?? retention
    }

    /// Per-destination policies with ids already resolved: each validated, one per destination, each
    /// for one of `destinationIDs` (in the job's order); nil when none is left.
    public static func validatedDestinationRetention(
        _ list: [DestinationRetention]?, destinationIDs: [String], names: [String: String] = [:]
    ) throws(DomainError) -> [DestinationRetention]? {
        guard let list, !list.isEmpty else { return nil }
        var byID: [String: RetentionPolicy] = [:]
        for (index, item) in list.enumerated() {
            let label = names[item.destination] ?? item.destination
            guard destinationIDs.contains(item.destination) else {
                throw .invalid(
                    "destinationRetention[\(index)].destination",
                    "\(label) is not one of the job's destinations; add it to the job, or give retention only for its destinations")
            }
            guard byID[item.destination] == nil else {
                throw .invalid("destinationRetention[\(index)].destination", "\(label) has two retention rules; give one per destination")
            }
            do {
                byID[item.destination] = try item.retention.validated()
            } catch {
                throw error.prefixed("destinationRetention[\(index)].retention")
            }
        }
        return destinationIDs.compactMap { id in byID[id].map { DestinationRetention(destination: id, retention: $0) } }
    }
}
