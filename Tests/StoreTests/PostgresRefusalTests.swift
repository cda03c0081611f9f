import Foundation
import SQLKit
import Store
import Testing

/// A PostgreSQL server that refuses new connections (here: a database with a connection limit,
/// the same SQLSTATE 53300 as a server out of slots) — a real refusal, not a fake.
@Suite("PostgreSQL refusing connections")
struct PostgresRefusalTests {
    /// The scratch database's URL and name, with `CONNECTION LIMIT limit` set on it.
    private func withLimitedDatabase(limit: Int, _ body: (String, String) async throws -> Void) async throws {
        try await withStoreLocation(.postgresql) { location in
            let name = try #require(URLComponents(string: location.address)?.path.dropFirst()).description
            let owner = try await SQLBackend.postgres(url: location.address, maxConnections: 1, logger: TestEnvironment.logger)
            do {
                try await owner.withDatabase { db in
                    try await db.raw(SQLQueryString("ALTER DATABASE \(unsafeRaw: name) CONNECTION LIMIT \(unsafeRaw: String(limit))")).run()
                }
            } catch {
                await owner.shutdown()
                throw error
            }
            await owner.shutdown()
            try await body(location.address, name)
        }
    }

    @Test(.enabled(if: StoreKind.tested.contains(.postgresql)))
    func aRefusedConnectionIsServedByAnIdleOne() async throws {
        try await withLimitedDatabase(limit: 1) { url, _ in
            // Up to 16 connections spread over the event loops; the server grants one. Requests on
            // a loop whose pool has none are refused a new one and must find the idle one.
            let backend = try await SQLBackend.postgres(url: url, maxConnections: 16, logger: TestEnvironment.logger)
            var answered = 0
            do {
                for _ in 0..<12 {
                    answered += try await backend.withDatabase { db in
                        try await db.raw("SELECT 1 AS one").first()?.decode(column: "one", as: Int.self) ?? 0
                    }
                }
            } catch {
                await backend.shutdown()
                throw error
            }
            await backend.shutdown()
            #expect(answered == 12)
        }
    }

    @Test(.enabled(if: StoreKind.tested.contains(.postgresql)))
    func aServerOutOfSlotsIsReportedSayingSo() async throws {
        try await withLimitedDatabase(limit: 1) { url, name in
            let backend = try await SQLBackend.postgres(url: url, maxConnections: 16, logger: TestEnvironment.logger)
            // One request holds the only connection the server grants for 3 s; the other must
            // open its own, is refused four times and fails with the server's reason.
            let holder = Task { try await backend.withDatabase { db in try await db.raw("SELECT pg_sleep(3)").run() } }
            try await Task.sleep(for: .milliseconds(500))
            let started = ContinuousClock.now
            let failure = await #expect(throws: StoreError.self) {
                try await backend.withDatabase { db in try await db.raw("SELECT 1").run() }
            }
            let waited = ContinuousClock.now - started
            try? await holder.value
            await backend.shutdown()
            let message = failure.map { String(describing: $0) } ?? ""
            #expect(message.contains("53300"), "the SQLSTATE is named: \(message)")
            #expect(message.contains("too many connections for database \"\(name)\""), "the server's reason is given: \(message)")
            #expect(waited >= .milliseconds(1000), "it was asked again over 1.1 s before failing, not at once")
        }
    }
}
