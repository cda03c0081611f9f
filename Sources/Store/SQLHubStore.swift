import BackupCore
import Foundation
import Logging
import PostgresKit
import SQLKit
import SQLiteKit

/// The SQL implementation of `HubStore`, on SQLite or PostgreSQL through SQLKit.
public final class SQLHubStore: HubStore {
    public let backend: SQLBackend
    /// Rung after a command for a server is committed (agents' long-polls wait on it).
    public let commandBell = CommandBell()
    /// Rung after an agent's event changed a run (live progress streams wait on it).
    public let runBell = CommandBell()
    /// Rung when a download part is queued (`p:<id>`) or taken (`t:<id>`), here or on another replica.
    public let downloadBell = CommandBell()
    /// Rung with a server id when its agent credential changed or went (`credentialBell` in `AgentLinkStore`).
    public let credentialBell = CommandBell()
    /// PostgreSQL: rings the bells for commands and run changes of other hub replicas (LISTEN/NOTIFY).
    private let notifications: CommandNotifications?

    /// Opens the store and applies pending migrations.
    public init(backend: SQLBackend) async throws {
        self.backend = backend
        try await Migrations.run(on: backend)
        notifications =
            backend.dialect == .postgresql
            ? CommandNotifications(backend: backend, commands: commandBell, runs: runBell, downloads: downloadBell, credentials: credentialBell) : nil
    }

    /// Opens the store named by a database setting: a `postgres://` URL, or else SQLite at `sqlitePath`.
    public static func open(database: String?, sqlitePath: String, logger: Logger) async throws -> SQLHubStore {
        let backend: SQLBackend
        if let database, !database.isEmpty {
            guard database.hasPrefix("postgres://") || database.hasPrefix("postgresql://") else {
                throw StoreError.configuration("the database must be a postgres:// URL; leave it out to use the embedded SQLite file")
            }
            backend = try await SQLBackend.postgres(url: database, logger: logger)
        } else {
            backend = try await SQLBackend.sqlite(path: sqlitePath, logger: logger)
        }
        do {
            return try await SQLHubStore(backend: backend)
        } catch {
            await backend.shutdown()
            throw error
        }
    }

    public func shutdown() async {
        notifications?.stop()
        await backend.shutdown()
    }

    public var engineName: String { backend.dialect.rawValue }

    func read<T: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        try await backend.withDatabase(body)
    }

    /// Rows of one read decoded by `decode`, by static type on PostgreSQL (`SQLBackend.rows`).
    func readRows<T: Sendable>(_ query: SQLQueryString, _ decode: @escaping @Sendable (any StoreRow) throws -> T) async throws -> [T] {
        try await backend.rows(query, decode)
    }

    /// Runs `body` in one transaction; a unique-constraint violation surfaces as `StoreError.duplicate`.
    func write<T: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        do {
            return try await backend.transaction(body)
        } catch  where Self.isUniqueViolation(error) {
            throw StoreError.duplicate
        }
    }

    /// Whether an error is a unique-constraint violation, on either database.
    static func isUniqueViolation(_ error: any Error) -> Bool {
        if let error = error as? PSQLError { return error.serverInfo?[.sqlState] == "23505" }
        if let error = error as? SQLiteError {
            return error.reason == .constraintUniqueFailed || error.reason == .constraintPrimaryKeyFailed || error.message.contains("UNIQUE")
        }
        return false
    }
}

/// JSON for document columns: stable key order so equal documents are equal text.
enum ColumnJSON {
    static func encode(_ value: some Encodable) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    static func decode<T: Decodable>(_ type: T.Type, _ text: String, column: String, decoder: JSONDecoder = JSONDecoder()) throws -> T {
        do {
            return try decoder.decode(type, from: Data(text.utf8))
        } catch {
            throw StoreError.corrupt("column \(column) holds a document this version cannot read")
        }
    }
}

extension SQLRow {
    func text(_ column: String) throws -> String { try decode(column: column, as: String.self) }
    func optionalText(_ column: String) throws -> String? { try decode(column: column, as: String?.self) }
    func integer(_ column: String) throws -> Int64 { try decode(column: column, as: Int64.self) }
    func optionalInteger(_ column: String) throws -> Int64? { try decode(column: column, as: Int64?.self) }
    func date(_ column: String) throws -> Date { Date(millisecondsSince1970: try integer(column)) }
    func optionalDate(_ column: String) throws -> Date? { try optionalInteger(column).map(Date.init(millisecondsSince1970:)) }
    func document<T: Decodable>(_ column: String, as type: T.Type, decoder: JSONDecoder = JSONDecoder()) throws -> T {
        try ColumnJSON.decode(type, try text(column), column: column, decoder: decoder)
    }
}

extension Optional where Wrapped == Date {
    var milliseconds: Int64? { self?.millisecondsSince1970 }
}
