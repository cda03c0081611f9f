import Foundation
import Logging
import SQLKit

/// The hub's bells across replicas on PostgreSQL: a command's transaction also runs
/// `pg_notify('mzpanel_events', 'c:<server id>')`, and a run change from an agent's event
/// `pg_notify('mzpanel_events', 'r:<run id>')`, a download part `'d:p:<id>'` or `'d:t:<id>'` (delivered when
/// they commit). Every replica keeps
/// one connection that LISTENs on that channel and rings its own command bell (agents' polls) or
/// run bell (live progress streams). The rows stay the truth: a notification only wakes a waiter,
/// which then reads them. A lost connection is opened again (1 s, doubling to 10 s); after that
/// every waiter is woken once, since notifications sent meanwhile are gone. SQLite (one hub
/// process) needs none of this.
final class CommandNotifications: Sendable {
    static let channel = "mzpanel_events"

    private let task: Task<Void, Never>

    init(backend: SQLBackend, commands: CommandBell, runs: CommandBell, downloads: CommandBell, credentials: CommandBell) {
        let logger = backend.logger
        task = Task {
            var delay = Duration.seconds(1)
            var connectedBefore = false
            while !Task.isCancelled {
                let started = ContinuousClock.now
                do {
                    try await backend.listen(
                        channel: Self.channel,
                        ready: {
                            if connectedBefore {
                                logger.info("listening for command notifications again")
                                await commands.ringAll()
                                await runs.ringAll()
                                await downloads.ringAll()
                                await credentials.ringAll()
                            }
                            connectedBefore = true
                        },
                        receive: { payload in
                            if payload.hasPrefix("c:") { await commands.ring(String(payload.dropFirst(2))) }
                            if payload.hasPrefix("r:") { await runs.ring(String(payload.dropFirst(2))) }
                            if payload.hasPrefix("d:") { await downloads.ring(String(payload.dropFirst(2))) }
                            if payload.hasPrefix("k:") { await credentials.ring(String(payload.dropFirst(2))) }
                        })
                } catch {
                    if Task.isCancelled { break }
                    logger.warning(
                        "lost the command notification connection; agents' polls fall back to the safety poll until it is back",
                        metadata: ["error": "\(String(reflecting: error).prefix(200))"])
                }
                if Task.isCancelled { break }
                if ContinuousClock.now - started > .seconds(30) { delay = .seconds(1) }
                try? await Task.sleep(for: delay)
                delay = min(delay * 2, .seconds(10))
            }
        }
    }

    /// Stops listening (the hub is shutting down).
    func stop() { task.cancel() }

    /// The statement a command's transaction runs on PostgreSQL.
    static func notify(_ serverID: String, on db: any SQLDatabase) async throws {
        try await send("c:" + serverID, on: db)
    }

    /// The statement a run change's transaction runs on PostgreSQL.
    static func notify(run runID: String, on db: any SQLDatabase) async throws {
        try await send("r:" + runID, on: db)
    }

    /// The statement a download part's transaction runs on PostgreSQL (`p:<id>` queued, `t:<id>` taken).
    static func notify(download key: String, on db: any SQLDatabase) async throws {
        try await send("d:" + key, on: db)
    }

    /// The statement run where a server's agent credential changes or goes (`k:<server id>`).
    static func notify(credential serverID: String, on db: any SQLDatabase) async throws {
        try await send("k:" + serverID, on: db)
    }

    private static func send(_ payload: String, on db: any SQLDatabase) async throws {
        guard db.dialect.name == "postgresql" else { return }
        try await db.raw("SELECT pg_notify(\(bind: channel), \(bind: payload))").run()
    }
}
