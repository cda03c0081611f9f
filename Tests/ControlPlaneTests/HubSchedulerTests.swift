import BackupCore
import Foundation
import HummingbirdTesting
import LinkProtocol
import Store
import Testing

@testable import ControlPlane

/// The hub scheduler's pass on a clock the test moves: a due slot without a run is enqueued once,
/// after the box's own timer had its chance, by however many hub processes share the database.
@Suite("hub scheduler tick")
struct HubSchedulerTests {
    @Test func aDueSlotIsEnqueuedOnceAfterTheTriggerDelayAndNeverWhenTooOld() async throws {
        try await withTestHub { hub, client in
            let account = try await hub.account("tick@example.com", plan: .plus)
            let world = try await AccountWorld.build(hub, client, account: account, prefix: "tick")  // daily job, enrolled server
            let scheduler = HubScheduler(store: hub.store, clock: hub.clock, logger: TestHub.logger)
            let replica = HubScheduler(store: hub.store, clock: hub.clock, logger: TestHub.logger)
            func slotCommands() async throws -> [Date] {
                try await hub.store.pendingCommands(serverID: world.serverID).filter { $0.kind == .runNow }.compactMap(\.slot)
            }

            #expect(try await scheduler.tick() == 0, "today's slot already has its run")
            let tomorrow = TestClock.start.addingTimeInterval(86_400)
            hub.clock.advance(by: 86_400 + 60)
            #expect(try await scheduler.tick() == 0, "one minute after the slot the box's own timer still has time")
            #expect(try await slotCommands().isEmpty)

            hub.clock.advance(by: 90)
            #expect(try await scheduler.fireDueSlots() == ["\(world.jobID)@\(tomorrow.formatted(.iso8601))"], "the pass names the slot it enqueued")
            #expect(try await scheduler.tick() == 0, "a second pass finds the slot enqueued")
            #expect(try await replica.tick() == 0, "another hub process derives the same command id")
            #expect(try await slotCommands() == [tomorrow])
            let command = try #require(try await hub.store.pendingCommands(serverID: world.serverID).first { $0.slot == tomorrow })
            #expect(command.id == HubScheduler.commandID(jobID: world.jobID, slot: tomorrow))
            #expect(ResourceID.looksLike(command.id, .command))

            // The box runs the slot: nothing more to trigger for it.
            let run = Run(
                id: ResourceID.make(.run), accountID: account.id, serverID: world.serverID, jobID: world.jobID, trigger: .hub,
                slot: tomorrow, status: .running, createdAt: hub.clock.now())
            let decision = try await hub.store.ingest(
                RunEvent(id: "evt_tick", kind: .started, run: run), accountID: account.id,
                serverID: world.serverID, now: hub.clock.now())
            #expect(decision != nil)
            #expect(try await hub.store.hasRun(jobID: world.jobID, slot: tomorrow))

            // A slot older than the scheduler's maximum age is left to the box's persistent timer.
            hub.clock.advance(by: 86_400 + 2 * 3600)
            #expect(try await scheduler.tick() == 0)
            #expect(try await slotCommands() == [tomorrow])
        }
    }

    @Test func commandIDsAreDerivedPerJobAndSlot() {
        let slot = Date(millisecondsSince1970: 1_767_312_000_000)
        let id = HubScheduler.commandID(jobID: "job_aaaaaaaaaaaaaaaaaaaa", slot: slot)
        #expect(id == HubScheduler.commandID(jobID: "job_aaaaaaaaaaaaaaaaaaaa", slot: slot))
        #expect(id != HubScheduler.commandID(jobID: "job_aaaaaaaaaaaaaaaaaaab", slot: slot))
        #expect(id != HubScheduler.commandID(jobID: "job_aaaaaaaaaaaaaaaaaaaa", slot: slot.addingTimeInterval(1)))
        #expect(ResourceID.looksLike(id, .command))
    }
}
