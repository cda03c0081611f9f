import BackupCore
import Foundation
import LinkProtocol
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

    @Test func aWakeEndsTheWaitsButCountsNoRing() async throws {
        let bell = CommandBell()
        let before = await bell.generation(of: "srv_a")
        async let woken: Void = bell.wait(for: "srv_a", upTo: .seconds(120))
        while await bell.waiting < 1 { try await Task.sleep(for: .milliseconds(5)) }
        await bell.wake("srv_a")
        await woken
        #expect(await bell.generation(of: "srv_a") == before, "what a waiter read before the wake is still valid")
        #expect(await bell.rings == 0)
        await bell.ring("srv_a")
        #expect(await bell.generation(of: "srv_a") != before)
    }

    @Test func aRingBetweenTheReadAndTheWaitIsNotLost() async throws {
        let bell = CommandBell()
        let noted = await bell.generation(of: "srv_a")
        await bell.ring("srv_a")
        let clock = ContinuousClock()
        let started = clock.now
        await bell.wait(for: "srv_a", since: noted, upTo: .seconds(120))
        #expect(clock.now - started < .seconds(60), "the wait saw the ring that came after the poll read the store")
        let unchanged = await bell.generation(of: "srv_b")
        await bell.ring("srv_a")
        let second = clock.now
        await bell.wait(for: "srv_b", since: unchanged, upTo: .milliseconds(200))
        #expect(clock.now - second >= .milliseconds(200), "another server's ring does not end the wait")
        let beforeAll = await bell.generation(of: "srv_b")
        await bell.ringAll()
        #expect(await bell.generation(of: "srv_b") != beforeAll, "ringAll counts for every server")
    }

    /// Two stores on one PostgreSQL database stand for two hub replicas: a command queued through
    /// one wakes a poll waiting on the other, through LISTEN/NOTIFY.
    @Test(.enabled(if: StoreKind.tested.contains(.postgresql)))
    func aCommandQueuedOnOneReplicaWakesAPollOnAnother() async throws {
        try await Self.withTwoReplicas { replicaA, replicaB in try await Self.wakeAcross(replicaA, replicaB) }
    }

    /// Two stores on one fresh PostgreSQL database, shut down however `body` ends.
    static func withTwoReplicas(_ body: (SQLHubStore, SQLHubStore) async throws -> Void) async throws {
        try await withStoreLocation(.postgresql) { location in
            let replicaA = try await location.open()
            let replicaB = try await location.open()
            do {
                try await body(replicaA, replicaB)
            } catch {
                await replicaA.shutdown()
                await replicaB.shutdown()
                throw error
            }
            await replicaA.shutdown()
            await replicaB.shutdown()
        }
    }

    static func wakeAcross(_ replicaA: SQLHubStore, _ replicaB: SQLHubStore) async throws {
        do {
            let seed = StoreSeed(store: replicaB)
            let account = try await seed.account("replicas")
            let server = try await seed.server(account, "web-1")
            // Each replica's listener connects in the background: ring B until A hears, then measure once.
            let clock = ContinuousClock()
            var heard = false
            for _ in 0..<50 where !heard {
                let noted = await replicaA.commandBell.generation(of: server.id)
                try await replicaB.enqueueCommand(
                    AgentCommand(id: ResourceID.make(.command), kind: .syncJobs, createdAt: StoreSeed.t0), accountID: account.id, serverID: server.id)
                let started = clock.now
                await replicaA.commandBell.wait(for: server.id, since: noted, upTo: .seconds(2))
                heard = clock.now - started < .seconds(2)
            }
            #expect(heard, "replica A was never woken by a command queued on replica B")
            // Once listening, a poll waiting on A wakes when B commits, long before its limit.
            let noted = await replicaA.commandBell.generation(of: server.id)
            async let woken: Void = replicaA.commandBell.wait(for: server.id, since: noted, upTo: .seconds(60))
            while await replicaA.commandBell.waiting < 1 { try await Task.sleep(for: .milliseconds(5)) }
            let started = clock.now
            try await replicaB.enqueueCommand(
                AgentCommand(id: ResourceID.make(.command), kind: .syncJobs, createdAt: StoreSeed.t0), accountID: account.id, serverID: server.id)
            await woken
            #expect(clock.now - started < .seconds(30), "woken by the notification, not by its 60 s limit")
            #expect(try await replicaA.pendingCommands(serverID: server.id).count >= 2, "the rows are the truth: A reads B's commands")
        }
    }

    /// A server removed through one replica rings the credential bell of the other, so its cache of
    /// agent credentials forgets the server at once instead of after its lifetime.
    @Test(.enabled(if: StoreKind.tested.contains(.postgresql)))
    func aServerRemovedOnOneReplicaRingsTheOthersCredentialBell() async throws {
        try await Self.withTwoReplicas { replicaA, replicaB in
            let seed = StoreSeed(store: replicaB)
            let account = try await seed.account("credentials")
            let other = try await seed.server(account, "web-0")
            // Each listener connects in the background: wait until A hears B at all.
            var listening = false
            for _ in 0..<50 where !listening {
                let noted = await replicaA.commandBell.generation(of: other.id)
                try await replicaB.enqueueCommand(
                    AgentCommand(id: ResourceID.make(.command), kind: .syncJobs, createdAt: StoreSeed.t0), accountID: account.id,
                    serverID: other.id)
                await replicaA.commandBell.wait(for: other.id, since: noted, upTo: .milliseconds(200))
                listening = await replicaA.commandBell.generation(of: other.id) != noted
            }
            #expect(listening)
            let server = try await seed.server(account, "web-1")
            let noted = await replicaA.credentialBell.generation(of: server.id)
            #expect(try await replicaB.deleteServer(accountID: account.id, id: server.id) != nil)
            await replicaA.credentialBell.wait(for: server.id, since: noted, upTo: .seconds(20))
            #expect(await replicaA.credentialBell.generation(of: server.id) != noted, "A never heard that B removed the server")
        }
    }
}
