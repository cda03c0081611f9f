import AsyncKit
import Foundation
import Logging
import NIOCore
import NIOPosix
import PostgresKit
import Redaction
import SQLKit
import SQLiteKit

/// Where the hub's SQL runs: an SQLite file (the default, one connection, WAL) or a PostgreSQL
/// server (a pool). Every operation borrows one connection for its whole duration, so a
/// transaction never interleaves with another request's statements.
public final class SQLBackend: @unchecked Sendable {
    public enum Dialect: String, Sendable { case sqlite, postgresql }

    public let dialect: Dialect
    private let sqlitePool: EventLoopConnectionPool<SQLiteConnectionSource>?
    private let postgresPool: EventLoopGroupConnectionPool<PostgresConnectionSource>?
    private let postgresSource: PostgresConnectionSource?
    private let loopLock = NSLock()
    nonisolated(unsafe) private var lastReleasedLoop: (any EventLoop)?
    let logger: Logger

    /// Opens (creating if needed) an SQLite database file.
    public static func sqlite(path: String, logger: Logger) async throws -> SQLBackend {
        let source = SQLiteConnectionSource(configuration: .init(storage: .file(path: path), enableForeignKeys: true))
        let pool = EventLoopConnectionPool(source: source, maxConnections: 1, logger: logger, on: MultiThreadedEventLoopGroup.singleton.any())
        let backend = SQLBackend(dialect: .sqlite, sqlitePool: pool, postgresPool: nil, postgresSource: nil, logger: logger)
        try await backend.withDatabase { db in
            try await db.raw("PRAGMA journal_mode = WAL").run()
            try await db.raw("PRAGMA synchronous = NORMAL").run()
            try await db.raw("PRAGMA busy_timeout = 5000").run()
        }
        return backend
    }

    /// Connects to PostgreSQL given a `postgres://user:pass@host:port/db` URL (`?sslmode=…` honoured).
    /// The pool spreads `maxConnections` over every event loop of the process (one per core), so
    /// the connections' I/O is not all on one thread.
    public static func postgres(url: String, maxConnections: Int = 16, logger: Logger) async throws -> SQLBackend {
        let configuration: SQLPostgresConfiguration
        do {
            configuration = try SQLPostgresConfiguration(url: url)
        } catch {
            throw StoreError.configuration("the database URL is not a valid postgres:// URL (postgres://USER:PASSWORD@HOST:PORT/DATABASE)")
        }
        let source = PostgresConnectionSource(sqlConfiguration: configuration)
        let loops = MultiThreadedEventLoopGroup.singleton
        let loopCount = max(1, Array(loops.makeIterator()).count)
        let perLoop = max(2, (maxConnections + loopCount - 1) / loopCount)
        let pool = EventLoopGroupConnectionPool(source: source, maxConnectionsPerEventLoop: perLoop, logger: logger, on: loops)
        let backend = SQLBackend(dialect: .postgresql, sqlitePool: nil, postgresPool: pool, postgresSource: source, logger: logger)
        do {
            try await backend.withDatabase { db in try await db.raw("SELECT 1").run() }
        } catch {
            await backend.shutdown()
            throw StoreError.unavailable("cannot connect to PostgreSQL: \(Redactor().redact(String(reflecting: error)))")
        }
        return backend
    }

    private init(
        dialect: Dialect, sqlitePool: EventLoopConnectionPool<SQLiteConnectionSource>?,
        postgresPool: EventLoopGroupConnectionPool<PostgresConnectionSource>?, postgresSource: PostgresConnectionSource?, logger: Logger
    ) {
        self.dialect = dialect
        self.sqlitePool = sqlitePool
        self.postgresPool = postgresPool
        self.postgresSource = postgresSource
        self.logger = logger
    }

    /// Runs `body` with one connection held for its whole duration.
    /// How many times the database was used (each store call uses it once, with a fixed set of
    /// statements): tests and benchmarks check that a page's count does not grow with the fleet.
    public var operations: Int { counterLock.withLock { counter } }
    private let counterLock = NSLock()
    nonisolated(unsafe) private var counter = 0

    public func withDatabase<T: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        counterLock.withLock { counter += 1 }
        if let pool = sqlitePool {
            let connection = try await Self.borrow { _ in pool.requestConnection(logger: logger) }
            defer { pool.releaseConnection(connection, logger: logger) }
            return try await body(connection.sql(queryLogLevel: .trace))
        }
        return try await withPostgresConnection { connection in try await body(connection.sql(queryLogLevel: .trace)) }
    }

    /// Runs `query` and decodes its rows with `decode`. On PostgreSQL the rows are PostgresNIO's
    /// own, decoded by static type (`StoreRow`), for the listings that read thousands of rows; a
    /// query whose values are not text or integers goes the usual way.
    func rows<T: Sendable>(_ query: SQLQueryString, _ decode: @escaping @Sendable (any StoreRow) throws -> T) async throws -> [T] {
        guard postgresPool != nil else {
            return try await withDatabase { db in try await db.raw(query).all().map { try decode(SQLKitRow(row: $0)) } }
        }
        counterLock.withLock { counter += 1 }
        return try await withPostgresConnection { connection in
            let sql = connection.sql(queryLogLevel: .trace)
            let (text, values) = sql.serialize(query)
            guard let binds = Self.bindings(values) else { return try await sql.raw(query).all().map { try decode(SQLKitRow(row: $0)) } }
            var decoded: [T] = []
            for try await row in try await connection.query(PostgresQuery(unsafeSQL: text, binds: binds), logger: logger) {
                decoded.append(try decode(row.makeRandomAccess()))
            }
            return decoded
        }
    }

    /// The values of a serialized query as PostgreSQL binds, when each is text or an integer.
    private static func bindings(_ values: [any Encodable & Sendable]) -> PostgresBindings? {
        var binds = PostgresBindings(capacity: values.count)
        for value in values {
            switch value {
            case let text as String: binds.append(text)
            case let number as Int64: binds.append(number)
            case let number as Int: binds.append(Int64(number))
            default: return nil
            }
        }
        return binds
    }

    /// A pooled PostgreSQL connection, held while `body` runs.
    private func withPostgresConnection<T: Sendable>(_ body: (PostgresConnection) async throws -> T) async throws -> T {
        let pool = postgresPool!
        // Each event loop has its own pool. A retry asks the pool that last had a connection back —
        // it may hold one idle that this loop's pool, refused a new one, cannot see.
        let connection = try await Self.borrow { retry in
            pool.requestConnection(logger: logger, on: retry == 0 ? nil : loopLock.withLock { lastReleasedLoop })
        }
        defer {
            loopLock.withLock { lastReleasedLoop = connection.eventLoop }
            pool.releaseConnection(connection, logger: logger)
        }
        return try await body(connection)
    }

    /// A pooled connection; a request that waited the pool's 10 s for one is `StoreError.busy`
    /// (answered 503 with Retry-After), not an unexplained failure. When the pool had to open a
    /// connection and the server refused it for now (no free slot, restarting) or it broke, the
    /// request asks again after 0.1, 0.3 and 0.7 s — an idle connection serves it — and then fails
    /// as `StoreError.unavailable` saying why. `request` gets the retry's number (0 at first).
    private static func borrow<C>(_ request: (Int) -> EventLoopFuture<C>) async throws -> C {
        let pauses: [Duration] = [.milliseconds(100), .milliseconds(300), .milliseconds(700)]
        var retry = 0
        while true {
            do {
                return try await request(retry).get()
            } catch ConnectionPoolTimeoutError.connectionRequestTimeout {
                throw StoreError.busy
            } catch  where DatabaseFailure.isPassingConnectionFailure(error) {
                guard retry < pauses.count else {
                    throw StoreError.unavailable("the hub could not open a database connection (\(DatabaseFailure.describe(error)))")
                }
                try await Task.sleep(for: pauses[retry])
                retry += 1
            }
        }
    }

    /// Runs `body` in a transaction: committed when it returns, rolled back when it throws.
    public func transaction<T: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        try await withDatabase { db in
            try await db.raw("BEGIN").run()
            do {
                let result = try await body(db)
                try await db.raw("COMMIT").run()
                return result
            } catch {
                try? await db.raw("ROLLBACK").run()
                throw error
            }
        }
    }

    /// PostgreSQL only: on a connection of its own (not the pool's), `LISTEN channel` and hand each
    /// notification's payload to `receive`, after `ready` once listening. Returns when the task is
    /// cancelled or the connection ends; throws when it cannot connect or listen.
    func listen(
        channel: String, ready: () async -> Void, receive: (String) async -> Void
    ) async throws {
        guard let source = postgresSource else { return }
        let connection = try await source.makeConnection(logger: logger, on: MultiThreadedEventLoopGroup.singleton.any()).get()
        do {
            try await connection.listen(on: channel) { notifications in
                await ready()
                for try await notification in notifications { await receive(notification.payload) }
            }
        } catch {
            try? await connection.close()
            throw error
        }
        try? await connection.close()
    }

    public func shutdown() async {
        try? await sqlitePool?.close().get()
        try? await postgresPool?.shutdownAsync()
    }
}
