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

    public var description: String {
        switch self {
        case .configuration(let message), .unavailable(let message), .corrupt(let message): message
        case .duplicate: "a row with the same key already exists"
        }
    }

    /// Removes a `user:password@` part from connection texts so a message never carries a password.
    static func redacted(_ text: String) -> String {
        var result = ""
        var rest = Substring(text)
        while let scheme = rest.range(of: "://") {
            result += rest[..<scheme.upperBound]
            rest = rest[scheme.upperBound...]
            if let at = rest.firstIndex(of: "@"), !rest[..<at].contains(where: { $0 == "/" || $0 == " " }) {
                result += "***@"
                rest = rest[rest.index(after: at)...]
            }
        }
        return result + rest
    }
}
