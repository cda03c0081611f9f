import Foundation
import Testing

@testable import ControlPlane

/// The long-poll registry's memory of reads that found no command (docs/architecture.md, "The agent link").
@Suite("Command polls")
struct CommandPollsTests {
    @Test("an empty read stands while the bell is unchanged and the read is younger than the safety poll")
    func emptyReadsStandUntilARingOrTheSafetyPoll() async {
        let polls = CommandPolls()
        let start = ContinuousClock.now
        #expect(await !polls.knownEmpty(serverID: "srv_a", generation: 0, now: start, freshness: .seconds(30)), "nothing read yet")
        await polls.noteEmpty(serverID: "srv_a", generation: 4, at: start)
        #expect(await polls.knownEmpty(serverID: "srv_a", generation: 4, now: start + .seconds(29), freshness: .seconds(30)))
        #expect(await !polls.knownEmpty(serverID: "srv_b", generation: 4, now: start, freshness: .seconds(30)), "per server")
        #expect(await !polls.knownEmpty(serverID: "srv_a", generation: 4, now: start + .seconds(30), freshness: .seconds(30)), "safety poll")
        await polls.noteEmpty(serverID: "srv_a", generation: 4, at: start)
        #expect(await !polls.knownEmpty(serverID: "srv_a", generation: 5, now: start, freshness: .seconds(30)), "a ring since")
        #expect(
            await !polls.knownEmpty(serverID: "srv_a", generation: 4, now: start, freshness: .seconds(30)),
            "a mismatch forgets the read: the next poll reads")
    }
}
