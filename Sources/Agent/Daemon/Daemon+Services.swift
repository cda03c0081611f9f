import Logging
import ServiceLifecycle
import UnixSignals

extension Daemon {
    /// The daemon as one group of services. On SIGTERM or SIGINT (`signals`) the group shuts down
    /// gracefully, in reverse order: errands are cancelled, the hub connection closes (no new
    /// commands), then the box supervision lets runs in progress finish within `shutdownGrace`.
    public nonisolated func serviceGroup(logger: Logger, signals: [UnixSignal] = [.sigterm, .sigint]) -> ServiceGroup {
        ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: [
                    .init(service: BoxSupervision(daemon: self)),
                    .init(service: HubConnection(daemon: self)),
                    .init(service: errands),
                ],
                gracefulShutdownSignals: signals,
                logger: logger
            ))
    }
}

/// The daemon's side of the hub: deliver the outbox, long-poll commands, sync jobs.
struct HubConnection: Service {
    let daemon: Daemon

    func run() async throws {
        await cancelWhenGracefulShutdown { await daemon.hubLoop() }
    }
}

/// The daemon's side of the box: start queued and due runs, report interrupted ones, restart
/// peer servers; on shutdown, wait for the runs it started (`Daemon.shutDown`).
struct BoxSupervision: Service {
    let daemon: Daemon

    func run() async throws {
        await daemon.startUp()
        await cancelWhenGracefulShutdown { await daemon.boxLoop() }
        await daemon.shutDown()
    }
}
