import Dispatch
import Foundation

/// SIGTERM and SIGINT cancel the work: the daemon stops its loops, a run stops restic (which
/// removes its lock) and records itself as cancelled.
enum Signals {
    static func runUntilTerminated<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) async throws -> T {
        let task = Task { try await body() }
        let sources = [SIGTERM, SIGINT].map { number -> any DispatchSourceSignal in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { task.cancel() }
            source.resume()
            return source
        }
        defer { sources.forEach { $0.cancel() } }
        return try await task.value
    }
}
