import SQLKit

/// A server row decoded cell by cell through SQLKit's generic `decode(column:as:)`, as the store
/// did before it decoded fleet listings by static type: the benchmark's point of comparison.
enum GenericDecoding {
    static let textColumns = ["id", "account_id", "name", "public_key", "key_fingerprint", "certificate", "agent_version", "capabilities"]
    static let integerColumns = ["enrolled_at", "last_seen_at", "created_at", "max_concurrent_runs"]

    static func server(_ row: any SQLRow) throws -> Int {
        var width = 0
        for column in textColumns { width += try row.decode(column: column, as: String?.self)?.count ?? 0 }
        for column in integerColumns { width += try row.decode(column: column, as: Int64?.self) == nil ? 0 : 1 }
        return width
    }
}
