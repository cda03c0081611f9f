import Foundation
import Logging
import SQLKit

/// The command bell across hub replicas on PostgreSQL: a command's transaction also runs
/// `pg_notify('mzpanel_commands', <server id>)` (delivered when it commits), and every replica
/// keeps one connection that LISTENs on that channel and rings its own bell for the server named.
/// The row stays the truth: a notification only wakes a poll, which then reads the commands. A
/// lost connection is opened again (1 s, doubling to 10 s); after that every waiting poll is woken
/// once, since notifications sent meanwhile are gone. SQLite (one hub process) needs none of this.
final class CommandNotifications: Sendable {
    static let channel = "mzpanel_commands"

    private let task: Task<Void, Never>

    init(backend: SQLBackend, bell: CommandBell) {
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
                                await bell.ringAll()
                            }
                            connectedBefore = true
                        },
                        receive: { serverID in await bell.ring(serverID) })
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
        guard db.dialect.name == "postgresql" else { return }
        try await db.raw("SELECT pg_notify(\(bind: channel), \(bind: serverID))").run()
    }
}
