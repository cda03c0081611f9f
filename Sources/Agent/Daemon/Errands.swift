import ServiceLifecycle

/// Short jobs the hub asks of the daemon while a browser waits (snapshot listings, downloads),
/// run side by side in one task group instead of as loose tasks. On graceful shutdown it takes no
/// more and cancels those under way (the browser sees the hub's error and can ask again).
public final class Errands: Service {
    public typealias Errand = @Sendable () async -> Void

    private let stream: AsyncStream<Errand>
    private let continuation: AsyncStream<Errand>.Continuation

    public init() {
        (stream, continuation) = AsyncStream.makeStream(of: Errand.self)
    }

    /// Queues an errand; it starts at once while the service runs.
    public func submit(_ errand: @escaping Errand) {
        continuation.yield(errand)
    }

    public func run() async {
        await withDiscardingTaskGroup { group in
            for await errand in stream.cancelOnGracefulShutdown() {
                group.addTask { await errand() }
            }
            group.cancelAll()
        }
    }
}
