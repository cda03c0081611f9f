import Foundation
import Store
import Testing

/// The in-process wake-up of agents' long-polls (docs/architecture.md, "Agent link").
@Suite("Command bell")
struct CommandBellTests {
    @Test func aRingWakesTheServersWaitersAndOnlyThem() async throws {
        let bell = CommandBell()
        let clock = ContinuousClock()
        let started = clock.now
        async let woken: Void = bell.wait(for: "srv_a", upTo: .seconds(120))
        async let other: Void = bell.wait(for: "srv_b", upTo: .milliseconds(300))
        while await bell.waiting < 2 { try await Task.sleep(for: .milliseconds(5)) }
        await bell.ring("srv_a")
        await woken
        // Woken by the ring, far before its two-minute limit.
        #expect(clock.now - started < .seconds(60))
        await other
        #expect(await bell.waiting == 0, "no waiter is left behind")
    }

    @Test func aWaitEndsAtItsLimitWithoutARingAndARingWithoutWaitersIsHarmless() async throws {
        let bell = CommandBell()
        await bell.ring("srv_a")
        let clock = ContinuousClock()
        let started = clock.now
        await bell.wait(for: "srv_a", upTo: .milliseconds(200))
        #expect(clock.now - started >= .milliseconds(200), "an earlier ring does not end a later wait")
        #expect(await bell.waiting == 0)
    }

    @Test func cancellingTheWaitingTaskEndsTheWait() async throws {
        let bell = CommandBell()
        let waiter = Task { await bell.wait(for: "srv_a", upTo: .seconds(120)) }
        while await bell.waiting < 1 { try await Task.sleep(for: .milliseconds(5)) }
        waiter.cancel()
        await waiter.value
        #expect(await bell.waiting == 0)
    }
}
