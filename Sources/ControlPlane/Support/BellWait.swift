import ServiceLifecycle
import Store

extension CommandBell {
    /// `wait(for:since:upTo:)` that also ends as soon as the hub begins to shut down, so a held
    /// request (an agent's long-poll, a `?wait=` call, a progress stream) answers at once instead
    /// of keeping a stopping hub alive until its wait runs out.
    func waitWhileServing(for key: String, since: UInt64?, upTo limit: Duration) async {
        await withGracefulShutdownHandler {
            await wait(for: key, since: since, upTo: limit)
        } onGracefulShutdown: {
            Task { await self.ring(key) }
        }
    }
}
