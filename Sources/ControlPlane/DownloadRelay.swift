import Foundation
import NIOCore

/// Downloads in flight: a browser's response reads a stream that the agent's posts feed, part by
/// part. At most four parts wait at a time — an agent's post answers only once its part is
/// queued, so a slow browser slows the agent instead of filling the hub's memory. In memory: the
/// agent's posts must reach the hub process that holds the browser's request.
public actor DownloadRelay {
    final class Transfer {
        let serverID: String
        let continuation: AsyncThrowingStream<ByteBuffer, any Error>.Continuation
        var waiting = 0
        var closed = false
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

    /// A part from the agent; false when no such transfer waits for that server (or the browser left).
    func push(id: String, serverID: String, part: ByteBuffer, done: Bool, error: String?) async -> Bool {
        guard let transfer = transfers[id], transfer.serverID == serverID, !transfer.closed else { return false }
        while transfer.waiting >= Self.maxWaiting && !transfer.closed {
            try? await Task.sleep(for: .milliseconds(10))
        }
        guard !transfer.closed else { return false }
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
        return true
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
