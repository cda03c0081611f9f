import Foundation
import NIOCore
import Testing

@testable import ControlPlane

/// The download relay: parts reach the browser in order, only from the server asked, and a
/// browser that leaves stops the agent's next part.
@Suite struct DownloadRelayTests {
    @Test func partsArriveInOrderFromTheServerAskedOnly() async throws {
        let relay = DownloadRelay()
        let stream = await relay.open(id: "dl_1", serverID: "srv_a")
        #expect(await relay.push(id: "dl_1", serverID: "srv_b", sequence: 0, part: ByteBuffer(string: "intruder"), done: false, error: nil) == .gone)
        #expect(await relay.push(id: "dl_1", serverID: "srv_a", sequence: 0, part: ByteBuffer(string: "one,"), done: false, error: nil) == .queued)
        #expect(await relay.push(id: "dl_1", serverID: "srv_a", sequence: 1, part: ByteBuffer(string: "two"), done: true, error: nil) == .queued)
        var received = ""
        for try await part in stream { received += String(buffer: part) }
        #expect(received == "one,two")
        #expect(
            await relay.push(id: "dl_1", serverID: "srv_a", sequence: 2, part: ByteBuffer(string: "late"), done: false, error: nil) == .gone,
            "finished")
    }

    @Test func anAgentErrorEndsTheStreamWithItsWordsAndALeavingBrowserStopsTheAgent() async throws {
        let relay = DownloadRelay()
        let failing = await relay.open(id: "dl_2", serverID: "srv_a")
        #expect(await relay.push(id: "dl_2", serverID: "srv_a", sequence: 0, part: ByteBuffer(), done: true, error: "no such file") == .queued)
        await #expect(throws: DownloadRelay.Failure.self) { for try await _ in failing {} }
        _ = await relay.open(id: "dl_3", serverID: "srv_a")
        await relay.close(id: "dl_3")
        #expect(await relay.push(id: "dl_3", serverID: "srv_a", sequence: 0, part: ByteBuffer(string: "x"), done: false, error: nil) == .gone)
    }

    @Test func partsAreTakenOnlyInTheirNumberedOrder() async throws {
        let relay = DownloadRelay()
        let stream = await relay.open(id: "dl_4", serverID: "srv_a")
        #expect(
            await relay.push(id: "dl_4", serverID: "srv_a", sequence: 1, part: ByteBuffer(string: "b"), done: false, error: nil)
                == .outOfOrder(expected: 0))
        #expect(await relay.push(id: "dl_4", serverID: "srv_a", sequence: 0, part: ByteBuffer(string: "a"), done: false, error: nil) == .queued)
        #expect(
            await relay.push(id: "dl_4", serverID: "srv_a", sequence: 0, part: ByteBuffer(string: "a"), done: false, error: nil)
                == .outOfOrder(expected: 1), "a repeated part")
        #expect(
            await relay.push(id: "dl_4", serverID: "srv_a", sequence: 7, part: ByteBuffer(string: "z"), done: false, error: nil)
                == .outOfOrder(expected: 1), "a skipped part")
        #expect(await relay.push(id: "dl_4", serverID: "srv_a", sequence: 1, part: ByteBuffer(string: "b"), done: true, error: nil) == .queued)
        var received = ""
        for try await part in stream { received += String(buffer: part) }
        #expect(received == "ab")
    }
}
