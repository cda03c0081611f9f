import Dispatch
import Foundation
import Synchronization

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

extension URLSession {
    /// One request that ends as soon as the calling task is cancelled: the request is cancelled
    /// and `CancellationError` is thrown at once, without waiting for URLSession to notice (on
    /// Linux a pending long poll does not always end on cancellation, and the daemon must stop promptly).
    func cancellableData(for request: URLRequest) async throws -> (Data, URLResponse) {
        let call = PendingCall()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                let task = dataTask(with: request) { data, response, error in
                    if let data, let response {
                        call.finish(.success((data, response)))
                    } else {
                        call.finish(.failure(error ?? URLError(.badServerResponse)))
                    }
                }
                call.start(task, continuation)
            }
        } onCancel: {
            call.cancel()
        }
    }
}

/// The state of one request shared by URLSession's completion, the caller and cancellation:
/// whichever comes first resumes the caller, exactly once.
private final class PendingCall: Sendable {
    private struct State {
        var task: URLSessionDataTask?
        var continuation: CheckedContinuation<(Data, URLResponse), any Error>?
        var cancelled = false
    }

    private let state = Mutex(State())

    func start(_ task: URLSessionDataTask, _ continuation: CheckedContinuation<(Data, URLResponse), any Error>) {
        let cancelled = state.withLock { state in
            if state.cancelled { return true }
            state.task = task
            state.continuation = continuation
            return false
        }
        if cancelled {
            continuation.resume(throwing: CancellationError())
        } else {
            task.resume()
        }
    }

    func finish(_ result: Result<(Data, URLResponse), any Error>) {
        state.withLock { state in
            let continuation = state.continuation
            state.continuation = nil
            state.task = nil
            return continuation
        }?.resume(with: result)
    }

    func cancel() {
        let (task, continuation) = state.withLock { state in
            state.cancelled = true
            defer {
                state.task = nil
                state.continuation = nil
            }
            return (state.task, state.continuation)
        }
        continuation?.resume(throwing: CancellationError())
        // Never call into URLSession from here: this runs inside the cancelling thread's hold on
        // the task's status, and URLSessionTask.cancel waits for URLSession's queue, which may be
        // resuming this very task (its own timeout fired): each would wait for the other forever.
        if let task { Self.cancelling.async { task.cancel() } }
    }

    private static let cancelling = DispatchQueue(label: "mzpanel.agent.url-cancel")
}
