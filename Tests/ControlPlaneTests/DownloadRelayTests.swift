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
        #expect(await relay.push(id: "dl_1", serverID: "srv_b", part: ByteBuffer(string: "intruder"), done: false, error: nil) == false)
        #expect(await relay.push(id: "dl_1", serverID: "srv_a", part: ByteBuffer(string: "one,"), done: false, error: nil))
        #expect(await relay.push(id: "dl_1", serverID: "srv_a", part: ByteBuffer(string: "two"), done: true, error: nil))
        var received = ""
        for try await part in stream { received += String(buffer: part) }
        #expect(received == "one,two")
        #expect(await relay.push(id: "dl_1", serverID: "srv_a", part: ByteBuffer(string: "late"), done: false, error: nil) == false, "finished")
    }

    @Test func anAgentErrorEndsTheStreamWithItsWordsAndALeavingBrowserStopsTheAgent() async throws {
        let relay = DownloadRelay()
        let failing = await relay.open(id: "dl_2", serverID: "srv_a")
        #expect(await relay.push(id: "dl_2", serverID: "srv_a", part: ByteBuffer(), done: true, error: "no such file"))
        await #expect(throws: DownloadRelay.Failure.self) { for try await _ in failing {} }
        _ = await relay.open(id: "dl_3", serverID: "srv_a")
        await relay.close(id: "dl_3")
        #expect(await relay.push(id: "dl_3", serverID: "srv_a", part: ByteBuffer(string: "x"), done: false, error: nil) == false)
    }
}
