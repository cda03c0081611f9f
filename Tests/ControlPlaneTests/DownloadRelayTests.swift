import Foundation
import NIOCore
import Store
import Testing

@testable import ControlPlane

/// The download relay: parts reach the browser in order, only from the server asked, and a
/// browser that leaves stops the agent's next part.
@Suite struct DownloadRelayTests {
    @Test func partsArriveInOrderFromTheServerAskedOnly() async throws {
        let relay = DownloadRelay()
        let stream = try await relay.open(id: "dl_1", serverID: "srv_a")
        #expect(
            try await relay.push(id: "dl_1", serverID: "srv_b", sequence: 0, part: ByteBuffer(string: "intruder"), done: false, error: nil) == .gone)
        #expect(
            try await relay.push(id: "dl_1", serverID: "srv_a", sequence: 0, part: ByteBuffer(string: "one,"), done: false, error: nil) == .queued)
        #expect(try await relay.push(id: "dl_1", serverID: "srv_a", sequence: 1, part: ByteBuffer(string: "two"), done: true, error: nil) == .queued)
        var received = ""
        for try await part in stream { received += String(buffer: part) }
        #expect(received == "one,two")
        #expect(
            try await relay.push(id: "dl_1", serverID: "srv_a", sequence: 2, part: ByteBuffer(string: "late"), done: false, error: nil) == .gone,
            "finished")
    }

    @Test func anAgentErrorEndsTheStreamWithItsWordsAndALeavingBrowserStopsTheAgent() async throws {
        let relay = DownloadRelay()
        let failing = try await relay.open(id: "dl_2", serverID: "srv_a")
        #expect(try await relay.push(id: "dl_2", serverID: "srv_a", sequence: 0, part: ByteBuffer(), done: true, error: "no such file") == .queued)
        await #expect(throws: DownloadRelay.Failure.self) { for try await _ in failing {} }
        _ = try await relay.open(id: "dl_3", serverID: "srv_a")
        await relay.close(id: "dl_3")
        #expect(try await relay.push(id: "dl_3", serverID: "srv_a", sequence: 0, part: ByteBuffer(string: "x"), done: false, error: nil) == .gone)
    }

    @Test func partsAreTakenOnlyInTheirNumberedOrder() async throws {
        let relay = DownloadRelay()
        let stream = try await relay.open(id: "dl_4", serverID: "srv_a")
        #expect(
            try await relay.push(id: "dl_4", serverID: "srv_a", sequence: 1, part: ByteBuffer(string: "b"), done: false, error: nil)
                == .outOfOrder(expected: 0))
        #expect(try await relay.push(id: "dl_4", serverID: "srv_a", sequence: 0, part: ByteBuffer(string: "a"), done: false, error: nil) == .queued)
        #expect(
            try await relay.push(id: "dl_4", serverID: "srv_a", sequence: 0, part: ByteBuffer(string: "a"), done: false, error: nil)
                == .outOfOrder(expected: 1), "a repeated part")
        #expect(
            try await relay.push(id: "dl_4", serverID: "srv_a", sequence: 7, part: ByteBuffer(string: "z"), done: false, error: nil)
                == .outOfOrder(expected: 1), "a skipped part")
        #expect(try await relay.push(id: "dl_4", serverID: "srv_a", sequence: 1, part: ByteBuffer(string: "b"), done: true, error: nil) == .queued)
        var received = ""
        for try await part in stream { received += String(buffer: part) }
        #expect(received == "ab")
    }

    actor Counter {
        var value = 0
        func add() { value += 1 }
    }

    /// Two replicas on one database: the agent's parts reach replica B, the browser waits on A.
    /// B queues each part in the store (waiting while four wait), A takes them in order.
    @Test func partsPostedToAnotherReplicaReachTheBrowserInOrderWithBackpressure() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("mzpanel-relay-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try await SQLHubStore.open(database: nil, sqlitePath: directory.appendingPathComponent("hub.sqlite").path, logger: TestHub.logger)
        do {
            let browserSide = DownloadRelay(shared: store)
            let agentSide = DownloadRelay(shared: store, stallLimit: .seconds(2))
            let stream = try await browserSide.open(id: "dl_5", serverID: "srv_a")
            // Ten parts posted through B one after another, as the agent does, while the browser on A
            // reads nothing for a while: four wait in the store, four in A's stream, the rest wait for room.
            let posted = Counter()
            async let pushing: [DownloadRelay.Outcome] = {
                var outcomes: [DownloadRelay.Outcome] = []
                for index in 0..<10 {
                    outcomes.append(
                        try await agentSide.push(
                            id: "dl_5", serverID: "srv_a", sequence: index, part: ByteBuffer(string: "<\(index)>"), done: index == 9, error: nil))
                    await posted.add()
                }
                return outcomes
            }()
            try await Task.sleep(for: .milliseconds(800))
            let beforeReading = await posted.value
            #expect(beforeReading <= 2 * DownloadRelay.maxWaiting, "the agent's posts outran a browser that reads nothing: \(beforeReading)")
            var received = ""
            for try await part in stream {
                received += String(buffer: part)
                await browserSide.taken(id: "dl_5")
            }
            #expect(received == (0..<10).map { "<\($0)>" }.joined())
            let outcomes = try await pushing
            #expect(outcomes.count == 10 && outcomes.allSatisfy { $0 == .queued }, "\(outcomes)")
            // A browser that left: the next part through B is refused.
            _ = try await browserSide.open(id: "dl_6", serverID: "srv_a")
            await browserSide.close(id: "dl_6")
            try await Task.sleep(for: .milliseconds(200))
            #expect(
                try await agentSide.push(id: "dl_6", serverID: "srv_a", sequence: 0, part: ByteBuffer(string: "x"), done: false, error: nil) == .gone)
            // A replica that stopped taking parts (no pump: opened in the store only): B gives up with `stalled`.
            try await store.openDownloadTransfer(id: "dl_7", serverID: "srv_a", now: Date())
            for index in 0..<4 {
                #expect(
                    try await agentSide.push(id: "dl_7", serverID: "srv_a", sequence: index, part: ByteBuffer(string: "y"), done: false, error: nil)
                        == .queued)
            }
            #expect(
                try await agentSide.push(id: "dl_7", serverID: "srv_a", sequence: 4, part: ByteBuffer(string: "y"), done: false, error: nil)
                    == .stalled)
        } catch {
            await store.shutdown()
            throw error
        }
        await store.shutdown()
    }
}
