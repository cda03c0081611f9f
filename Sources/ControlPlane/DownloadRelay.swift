import Foundation
import NIOCore

/// Downloads in flight: a browser's response reads a stream that the agent's posts feed, part by
/// part. At most four parts wait at a time — an agent's post answers only once its part is
/// queued, so a slow browser slows the agent instead of filling the hub's memory. Parts are numbered
/// from 0 (`seq`) and taken only in that order: a repeated, skipped or late part is refused. In
/// memory: the agent's posts must reach the hub process that holds the browser's request.
public actor DownloadRelay {
    final class Transfer {
        let serverID: String
        let continuation: AsyncThrowingStream<ByteBuffer, any Error>.Continuation
        var waiting = 0
        var closed = false
        var nextSequence = 0
        init(serverID: String, continuation: AsyncThrowingStream<ByteBuffer, any Error>.Continuation) {
            self.serverID = serverID
            self.continuation = continuation
        }
    }

    /// Why a download ended early, as the agent said.
    public struct Failure: Error, CustomStringConvertible { public let description: String }

    private var transfers: [String: Transfer] = [:]
    static let maxWaiting = 4

    public init() {}

    /// Opens a transfer that `serverID`'s agent will feed.
    func open(id: String, serverID: String) -> AsyncThrowingStream<ByteBuffer, any Error> {
        var captured: AsyncThrowingStream<ByteBuffer, any Error>.Continuation?
        let stream = AsyncThrowingStream<ByteBuffer, any Error> { captured = $0 }
        transfers[id] = Transfer(serverID: serverID, continuation: captured!)
        return stream
    }

    /// Whether a transfer with this id waits for parts from `serverID`.
    func isWaiting(id: String, serverID: String) -> Bool {
        transfers[id].map { $0.serverID == serverID && !$0.closed } ?? false
    }

    /// What became of a part the agent sent.
    enum Outcome: Equatable, Sendable {
        case queued
        /// No such transfer waits for that server (or the browser left).
        case gone
        /// The part is not the next one; `expected` is.
        case outOfOrder(expected: Int)
    }

    /// A part from the agent, the `sequence`-th (from 0) of its transfer.
    func push(id: String, serverID: String, sequence: Int, part: ByteBuffer, done: Bool, error: String?) async -> Outcome {
        guard let transfer = transfers[id], transfer.serverID == serverID, !transfer.closed else { return .gone }
        guard sequence == transfer.nextSequence else { return .outOfOrder(expected: transfer.nextSequence) }
        // Claimed before waiting: a second post with the same number while this one waits is refused.
        transfer.nextSequence += 1
        while transfer.waiting >= Self.maxWaiting && !transfer.closed {
            try? await Task.sleep(for: .milliseconds(10))
        }
        guard !transfer.closed else { return .gone }
        if part.readableBytes > 0 {
            transfer.waiting += 1
            transfer.continuation.yield(part)
        }
        if let error {
            transfer.continuation.finish(throwing: Failure(description: error))
            close(id: id)
        } else if done {
            transfer.continuation.finish()
            close(id: id)
        }
        return .queued
    }

    /// The browser's response took a part.
    func taken(id: String) {
        transfers[id].map { $0.waiting = max(0, $0.waiting - 1) }
    }

    /// The transfer is over (finished, failed, or the browser went away).
    func close(id: String) {
        guard let transfer = transfers.removeValue(forKey: id) else { return }
        transfer.closed = true
        transfer.continuation.finish()
    }
}
