import Foundation

/// Waits for an async computation, but not longer than a limit: the computation runs in a task of
/// its own, and when the limit comes first the caller goes on (the task is cancelled and left to
/// end by itself — it may be waiting on something that never answers).
enum FirstOf {
    static func value<T: Sendable>(orAfter limit: Duration, _ work: @escaping @Sendable () async -> T) async -> T? {
        let once = Once<T?>()
        return await withCheckedContinuation { (continuation: CheckedContinuation<T?, Never>) in
            once.set(continuation)
            let worker = Task { once.resume(await work()) }
            Task {
                try? await Task.sleep(for: limit)
                if once.resume(nil) { worker.cancel() }
            }
        }
    }

    /// A continuation resumed once, by whichever comes first (before or after it is set).
    private final class Once<Value: Sendable>: @unchecked Sendable {
        private let lock = NSLock()
        private var continuation: CheckedContinuation<Value, Never>?
        private var resolved = false
        private var outcome: Value?

        func set(_ continuation: CheckedContinuation<Value, Never>) {
            let ready: Value? = lock.withLock {
                if resolved { return outcome }
                self.continuation = continuation
                return nil
            }
            if let ready { continuation.resume(returning: ready) }
        }

        /// True when this call decided the value.
        @discardableResult
        func resume(_ value: Value) -> Bool {
            let (decided, waiter): (Bool, CheckedContinuation<Value, Never>?) = lock.withLock {
                if resolved { return (false, nil) }
                resolved = true
                if let waiting = continuation {
                    continuation = nil
                    return (true, waiting)
                }
                outcome = value
                return (true, nil)
            }
            waiter?.resume(returning: value)
            return decided
        }
    }
}

/// Lines gathered from another task, replayed in order on the caller's.
final class LineBuffer: @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [String] = []

    func append(_ line: String) { lock.withLock { lines.append(line) } }

    func drain() -> [String] {
        lock.withLock {
            defer { lines = [] }
            return lines
        }
    }
}
