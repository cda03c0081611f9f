import Foundation

/// A failure of the storage layer itself (not of the caller's input).
public enum StoreError: Error, Sendable, CustomStringConvertible {
    /// The database settings are wrong (bad URL, unreadable file).
    case configuration(String)
    /// The database cannot be reached.
    case unavailable(String)
    /// A stored row could not be read back (corruption or a newer schema).
    case corrupt(String)
    /// A row with the same key exists (a unique constraint refused the write).
    case duplicate
    /// Every database connection stayed in use for as long as a request may wait for one.
    case busy

    public var description: String {
        switch self {
        case .configuration(let message), .unavailable(let message), .corrupt(let message): message
        case .duplicate: "a row with the same key already exists"
        case .busy: "the hub's database is busy (every connection was in use for 10 s); try again in a few seconds"
        }
    }
}
