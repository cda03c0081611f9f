import BackupCore
import Foundation
import Logging
import SQLKit
import Store
import Testing

/// The SQL backends every store conformance test runs on.
enum StoreKind: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case sqlite, postgresql

    var testDescription: String { rawValue }

    /// SQLite always; PostgreSQL when `MZPANEL_TEST_POSTGRES_URL` is set, and on CI even when it is
    /// not (so the PostgreSQL cases fail there, loudly, instead of vanishing). Locally without a URL
    /// the skip is reported by `PostgreSQLAvailabilityTests`.
    static let tested: [StoreKind] = TestEnvironment.postgresURL != nil || TestEnvironment.isCI ? allCases : [.sqlite]
}

enum TestEnvironment {
    static let postgresURL: String? = {
        guard let url = ProcessInfo.processInfo.environment["MZPANEL_TEST_POSTGRES_URL"], !url.isEmpty else { return nil }
        return url
    }()

    static let isCI = ProcessInfo.processInfo.environment["CI"] == "true"

    static let missingPostgresOnCI =
        "CI must provide MZPANEL_TEST_POSTGRES_URL (e.g. postgres://mzpanel:mzpanel@127.0.0.1:5432/mzpanel_test) so the store is tested on PostgreSQL"

    static var logger: Logger {
        var logger = Logger(label: "mzpanel.store-tests")
        logger.logLevel = .warning
        return logger
    }
}

struct TestSetupError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A place a store lives that can be opened more than once (to test reopening and migrations).
struct StoreLocation: Sendable {
    let kind: StoreKind
    /// The SQLite file, or the PostgreSQL URL of a scratch database.
    let address: String

    func open() async throws -> SQLHubStore {
        switch kind {
        case .sqlite: try await SQLHubStore.open(database: nil, sqlitePath: address, logger: TestEnvironment.logger)
        case .postgresql: try await SQLHubStore.open(database: address, sqlitePath: "/nonexistent/unused.sqlite", logger: TestEnvironment.logger)
        }
    }
}

/// Runs `body` with a fresh, empty location of `kind` and removes it afterwards.
func withStoreLocation<T>(_ kind: StoreKind, _ body: (StoreLocation) async throws -> T) async throws -> T {
    switch kind {
    case .sqlite:
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("mzpanel-store-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        return try await body(StoreLocation(kind: .sqlite, address: directory.appendingPathComponent("hub.sqlite").path))
    case .postgresql:
        guard let baseURL = TestEnvironment.postgresURL else {
            // Only reachable on CI: locally the PostgreSQL cases are not generated without a URL.
            throw TestSetupError(TestEnvironment.missingPostgresOnCI)
        }
        let scratch = try await PostgresScratchDatabases.shared.create(baseURL: baseURL)
        do {
            let result = try await body(StoreLocation(kind: .postgresql, address: scratch.url))
            try await PostgresScratchDatabases.shared.drop(scratch)
            return result
        } catch {
            try? await PostgresScratchDatabases.shared.drop(scratch)
            throw error
        }
    }
}

/// Runs `body` with a fresh, migrated store of `kind`, shut down and removed afterwards.
func withStore<T>(_ kind: StoreKind, _ body: (SQLHubStore) async throws -> T) async throws -> T {
    try await withStoreLocation(kind) { location in
        let store = try await location.open()
        do {
            let result = try await body(store)
            await store.shutdown()
            return result
        } catch {
            await store.shutdown()
            throw error
        }
    }
}

/// Creates one PostgreSQL database per test (`mzt_<random>`) through a small pool of maintenance
/// connections to the configured database, and drops it when the test ends. Requests beyond the
/// pool's width wait here, not in the connection pool (whose request timeout is 10 s).
actor PostgresScratchDatabases {
    static let shared = PostgresScratchDatabases()
    static let width = 3

    struct Database: Sendable {
        let name: String
        let url: String
    }

    private var maintenance: Task<SQLBackend, any Error>?
    private var running = 0
    private var waiters: [CheckedContinuation<Void, Never>] = []

    private func backend(baseURL: String) async throws -> SQLBackend {
        if let maintenance { return try await maintenance.value }
        let task = Task { try await SQLBackend.postgres(url: baseURL, maxConnections: Self.width, logger: TestEnvironment.logger) }
        maintenance = task
        return try await task.value
    }

    /// Runs one maintenance statement when a connection is free.
    private func execute(_ sql: String, baseURL: String) async throws {
        if running < Self.width {
            running += 1
        } else {
            await withCheckedContinuation { waiters.append($0) }
        }
        defer {
            if waiters.isEmpty { running -= 1 } else { waiters.removeFirst().resume() }
        }
        let backend = try await backend(baseURL: baseURL)
        try await backend.withDatabase { db in try await db.raw(SQLQueryString(sql)).run() }
    }

    func create(baseURL: String) async throws -> Database {
        guard var components = URLComponents(string: baseURL), components.host != nil else {
            throw TestSetupError("MZPANEL_TEST_POSTGRES_URL is not a postgres:// URL")
        }
        let name = "mzt_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(20)
        components.path = "/" + name
        guard let url = components.string else { throw TestSetupError("cannot build the scratch database URL") }
        try await execute("CREATE DATABASE \(name)", baseURL: baseURL)
        return Database(name: name, url: url)
    }

    func drop(_ database: Database) async throws {
        guard let baseURL = TestEnvironment.postgresURL else { return }
        try await execute("DROP DATABASE IF EXISTS \(database.name) WITH (FORCE)", baseURL: baseURL)
    }
}

/// Makes the PostgreSQL skip visible when no database is configured (and fails on CI).
@Suite("PostgreSQL availability")
struct PostgreSQLAvailabilityTests {
    @Test(
        "The store conformance suite also runs on PostgreSQL",
        .enabled(
            if: TestEnvironment.postgresURL != nil || TestEnvironment.isCI,
            "MZPANEL_TEST_POSTGRES_URL not set: store conformance ran on SQLite only")
    )
    func postgresqlIsConfigured() async throws {
        let url = try #require(TestEnvironment.postgresURL, Comment(rawValue: TestEnvironment.missingPostgresOnCI))
        let backend = try await SQLBackend.postgres(url: url, maxConnections: 1, logger: TestEnvironment.logger)
        let version = try await backend.withDatabase { db in
            try await db.raw("SHOW server_version_num").first()?.decode(column: "server_version_num", as: String.self)
        }
        await backend.shutdown()
        #expect(backend.dialect == .postgresql)
        #expect(Int(version ?? "") ?? 0 >= 130000, "PostgreSQL 13 or later is expected")
    }
}
