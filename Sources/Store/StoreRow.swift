import BackupCore
import Foundation
import PostgresNIO
import SQLKit

/// A result row read by column name, as the store's row decoders need it: text and integers,
/// either possibly NULL. Two kinds: SQLKit's rows (any query, either database) and PostgresNIO's
/// own rows, decoded by static type — SQLKit's generic `decode(column:as:)` costs a dynamic cast
/// and a coding path per cell, which was most of the fleet page's time at 10,000 servers.
protocol StoreRow {
    func text(_ column: String) throws -> String
    func optionalText(_ column: String) throws -> String?
    func integer(_ column: String) throws -> Int64
    func optionalInteger(_ column: String) throws -> Int64?
}

extension StoreRow {
    func date(_ column: String) throws -> Date { Date(millisecondsSince1970: try integer(column)) }
    func optionalDate(_ column: String) throws -> Date? { try optionalInteger(column).map(Date.init(millisecondsSince1970:)) }
}

/// Any SQLKit row, through the store's `SQLRow` accessors (SQLHubStore.swift).
struct SQLKitRow: StoreRow {
    let row: any SQLRow

    func text(_ column: String) throws -> String { try row.text(column) }
    func optionalText(_ column: String) throws -> String? { try row.optionalText(column) }
    func integer(_ column: String) throws -> Int64 { try row.integer(column) }
    func optionalInteger(_ column: String) throws -> Int64? { try row.optionalInteger(column) }
}

/// A PostgresNIO row, each cell decoded as the type asked for (the store's columns are TEXT and
/// BIGINT; an INTEGER column or expression is widened).
extension PostgresRandomAccessRow: StoreRow {
    func text(_ column: String) throws -> String {
        guard let value = try optionalText(column) else { throw StoreRowError.null(column) }
        return value
    }

    func optionalText(_ column: String) throws -> String? {
        guard contains(column) else { throw StoreRowError.missing(column) }
        return try self[column].decode(String?.self)
    }

    func integer(_ column: String) throws -> Int64 {
        guard let value = try optionalInteger(column) else { throw StoreRowError.null(column) }
        return value
    }

    func optionalInteger(_ column: String) throws -> Int64? {
        guard contains(column) else { throw StoreRowError.missing(column) }
        let cell = self[column]
        if cell.dataType == .int4 { return try cell.decode(Int32?.self).map(Int64.init) }
        return try cell.decode(Int64?.self)
    }
}

enum StoreRowError: Error, CustomStringConvertible {
    case missing(String), null(String)

    var description: String {
        switch self {
        case .missing(let column): "the result has no column \(column)"
        case .null(let column): "column \(column) is NULL where a value is required"
        }
    }
}
