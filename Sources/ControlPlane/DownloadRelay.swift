import Foundation
import NIOCore
import Store

/// Downloads in flight: a browser's response reads a stream that the agent's posts feed, part by
/// part. At most four parts wait at a time — an agent's post answers only once its part is
/// queued, so a slow browser slows the agent instead of filling the hub's memory. Parts are numbered
/// from 0 (`seq`) and taken only in that order: a repeated, skipped or late part is refused.
///
/// One hub process (SQLite) keeps the parts in memory. Several replicas (PostgreSQL) cannot know
/// which of them holds the browser, so there every part passes through the database
/// (`DownloadPartStore`), whichever replica the agent's post reaches: the store numbers and bounds
/// them, and the replica holding the browser takes them in order, woken by LISTEN/NOTIFY.
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
    /// Replicas: the parts' way through the database (nil: one hub process, parts in memory).
    private let shared: (any DownloadPartStore)?
    /// How long an agent's post waits for the browser's replica to take a part before giving up.
    let stallLimit: Duration

    public init(shared: (any DownloadPartStore)? = nil, stallLimit: Duration = .seconds(60)) {
        self.shared = shared
        self.stallLimit = stallLimit
    }

    /// Opens a transfer that `serverID`'s agent will feed.
    func open(id: String, serverID: String) async throws -> AsyncThrowingStream<ByteBuffer, any Error> {
        var captured: AsyncThrowingStream<ByteBuffer, any Error>.Continuation?
        let stream = AsyncThrowingStream<ByteBuffer, any Error> { captured = $0 }
        transfers[id] = Transfer(serverID: serverID, continuation: captured!)
        if let shared {
            do {
                try await shared.openDownloadTransfer(id: id, serverID: serverID, now: Date())
            } catch {
                transfers[id] = nil
                throw error
            }
            Task { await self.pump(id: id, from: shared) }
        }
        return stream
    }

    /// Whether a transfer with this id may wait for parts from `serverID` (replicas: the store decides).
    func mayWait(id: String, serverID: String) -> Bool {
        shared != nil || (transfers[id].map { $0.serverID == serverID && !$0.closed } ?? false)
    }

    /// What became of a part the agent sent.
    enum Outcome: Equatable, Sendable {
        case queued
        /// No such transfer waits for that server (or the browser left).
        case gone
        /// The part is not the next one; `expected` is.
        case outOfOrder(expected: Int)
        /// The replica holding the browser took no part for `stallLimit` (it stopped, or the browser stalled).
        case stalled
    }

    /// A part from the agent, the `sequence`-th (from 0) of its transfer.
    func push(id: String, serverID: String, sequence: Int, part: ByteBuffer, done: Bool, error: String?) async throws -> Outcome {
        if let shared { return try await forward(id: id, serverID: serverID, sequence: sequence, part: part, done: done, error: error, to: shared) }
        guard let transfer = transfers[id], transfer.serverID == serverID, !transfer.closed else { return .gone }
        guard sequence == transfer.nextSequence else { return .outOfOrder(expected: transfer.nextSequence) }
        // Claimed before waiting: a second post with the same number while this one waits is refused.
        transfer.nextSequence += 1
        while transfer.waiting >= Self.maxWaiting && !transfer.closed {
            try? await Task.sleep(for: .milliseconds(10))
        }
        guard !transfer.closed else { return .gone }
        deliver(id: id, transfer, part: part, done: done, error: error)
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
        if let shared { Task { try? await shared.closeDownloadTransfer(id: id) } }
    }

    private func deliver(id: String, _ transfer: Transfer, part: ByteBuffer, done: Bool, error: String?) {
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
    }

    /// Replicas: queues the part in the database, waiting (woken when parts are taken) while the
    /// transfer has as many waiting as it may.
    private func forward(
        id: String, serverID: String, sequence: Int, part: ByteBuffer, done: Bool, error: String?, to shared: any DownloadPartStore
    ) async throws -> Outcome {
        let stored = DownloadPart(sequence: sequence, data: Data(part.readableBytesView), done: done, error: error)
        let deadline = ContinuousClock.now + stallLimit
        while true {
            let generation = await shared.downloadBell.generation(of: "t:" + id)
            switch try await shared.pushDownloadPart(stored, downloadID: id, serverID: serverID, maxWaiting: Self.maxWaiting) {
            case .queued: return .queued
            case .gone: return .gone
            case .outOfOrder(let expected): return .outOfOrder(expected: expected)
            case .full:
                guard ContinuousClock.now < deadline else { return .stalled }
                await shared.downloadBell.wait(for: "t:" + id, since: generation, upTo: .seconds(2))
            }
        }
    }

    /// Replicas, on the one holding the browser: takes the transfer's parts from the database in
    /// order, as the browser makes room, until the last one or until the browser leaves.
    private func pump(id: String, from shared: any DownloadPartStore) async {
        while let transfer = transfers[id], !transfer.closed {
            let room = Self.maxWaiting - transfer.waiting
            guard room > 0 else {
                try? await Task.sleep(for: .milliseconds(10))
                continue
            }
            let generation = await shared.downloadBell.generation(of: "p:" + id)
            let parts: [DownloadPart]
            do {
                parts = try await shared.takeDownloadParts(downloadID: id, limit: room)
            } catch {
                transfer.continuation.finish(throwing: Failure(description: "the hub lost its database while relaying; download again"))
                close(id: id)
                return
            }
            for part in parts where !transfer.closed {
                deliver(id: id, transfer, part: ByteBuffer(bytes: part.data), done: part.done, error: part.error)
            }
            if parts.isEmpty { await shared.downloadBell.wait(for: "p:" + id, since: generation, upTo: .seconds(2)) }
        }
    }
}
