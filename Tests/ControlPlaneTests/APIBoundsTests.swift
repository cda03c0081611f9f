import BackupCore
import Foundation
import HTTPTypes
import HubAPI
import HummingbirdTesting
import LinkProtocol
import NIOCore
import Store
import Testing

@testable import ControlPlane

/// What one caller may hold open or send: one command poll per agent, a bounded number of live
/// progress streams, bounded bodies, listings and download parts.
@Suite("API: bounded resources")
struct APIBoundsTests {
    static func twoStreamsPerSession(_ configuration: inout HubConfiguration) { configuration.eventStreamsPerSession = 2 }
    static func tenListingEntries(_ configuration: inout HubConfiguration) { configuration.maxListingEntries = 10 }

    @Test func aSecondCommandPollReplacesTheFirstWhichAnswersAtOnce() async throws {
        try await withTestHub { hub, client in
            let account = try await hub.account("poll@example.com")
            let world = try await AccountWorld.build(hub, client, account: account, prefix: "p")
            let agent: HTTPFields = [.authorization: "Agent \(try #require(world.agentCredential))"]
            if let command = world.commandID {
                _ = try await client.call(.post, "/api/agent/v1/commands/\(command)/ack", headers: agent)
            }
            let started = ContinuousClock.now
            async let first = client.call(.get, "/api/agent/v1/commands?wait=20", headers: agent)
            try await Task.sleep(for: .milliseconds(500))
            let second = try await client.call(.get, "/api/agent/v1/commands?wait=1", headers: agent)
            let replaced = try await first
            let waited = ContinuousClock.now - started
            #expect(replaced.status == .ok && replaced.json["commands"].array.isEmpty, "\(replaced)")
            #expect(second.status == .ok, "\(second)")
            #expect(waited < .seconds(5), "the first poll answered when the second came, not after 20 s: \(waited)")
        }
    }

    @Test func liveProgressStreamsAreBoundedPerSession() async throws {
        try await withTestHub(configure: Self.twoStreamsPerSession) { hub, client in
            let account = try await hub.account("streams@example.com")
            let world = try await AccountWorld.build(hub, client, account: account, prefix: "e")
            let login = try await client.call(
                .post, "/api/v1/session", body: #"{"email":"streams@example.com","password":"\#(TestHub.password)"}"#)
            let secret = try #require(login.cookies["mzpanel_session"]?.value, "\(login)")
            let session: HTTPFields = [.cookie: "mzpanel_session=\(secret)"]
            // The run is finished: its stream sends one event and ends, giving its slot back.
            let open = try await client.call(.get, "/backups/runs/\(world.runID)/events", headers: session)
            #expect(open.status == .ok && open.text.hasPrefix("data: "), "\(open)")
            #expect(await hub.services.streams.inUse == 0)
            // Two streams held by this session (as two open tabs would) use its share.
            let key = PageCaller.csrfToken(sessionSecret: secret)
            #expect(await hub.services.streams.take(session: key))
            #expect(await hub.services.streams.take(session: key))
            let refused = try await client.call(.get, "/backups/runs/\(world.runID)/events", headers: session)
            #expect(refused.status == .tooManyRequests, "\(refused)")
            #expect(refused.headers[.retryAfter] != nil)
            #expect(await hub.services.streams.take(session: "another session"), "other sessions keep their share")
        }
    }

    /// A run page's live stream is woken by the agent's events (the store's run bell), not by a
    /// timer: both changes arrive long before the stream's 10 s re-read would have found them.
    @Test func aLiveStreamWritesEachChangeAsTheAgentReportsIt() async throws {
        try await withTestHub { hub, client in
            let account = try await hub.account("live@example.com")
            let world = try await AccountWorld.build(hub, client, account: account, prefix: "l")
            let login = try await client.call(.post, "/api/v1/session", body: #"{"email":"live@example.com","password":"\#(TestHub.password)"}"#)
            let session: HTTPFields = [.cookie: "mzpanel_session=\(try #require(login.cookies["mzpanel_session"]?.value))"]
            // The world's job has a queued run (the agent has not started it yet).
            let queued = try await hub.store.runs(accountID: account.id, filter: RunFilter(status: .queued), after: nil, limit: 10).items
            var run = try #require(queued.first { $0.jobID == world.jobID })
            let runID = run.id
            let started = ContinuousClock.now
            async let stream = client.call(.get, "/backups/runs/\(runID)/events", headers: session)
            try await Task.sleep(for: .milliseconds(500))
            run.status = .running
            run.startedAt = hub.clock.now()
            _ = try await hub.store.ingest(
                RunEvent(id: "evt_live_1", kind: .started, run: run), accountID: account.id, serverID: world.serverID, now: hub.clock.now())
            try await Task.sleep(for: .milliseconds(500))
            run.status = .failed
            run.finishedAt = hub.clock.now()
            _ = try await hub.store.ingest(
                RunEvent(id: "evt_live_2", kind: .finished, run: run), accountID: account.id, serverID: world.serverID, now: hub.clock.now())
            let body = try await stream.text
            let waited = ContinuousClock.now - started
            let statuses = body.split(separator: "\n").filter { $0.hasPrefix("data: ") }.compactMap { line in
                (try? JSONSerialization.jsonObject(with: Data(line.dropFirst(6).utf8)) as? [String: Any])?["status"] as? String
            }
            #expect(statuses == ["queued", "running", "failed"], "each change once: \(body)")
            #expect(waited < .seconds(8), "woken by the events, not by the 10 s re-read: \(waited)")
        }
    }

    /// The command poll takes a credential it checked lately from the replica's cache, but a server
    /// removed (or enrolled again) is refused at its next poll, not after the cache's lifetime.
    @Test func aCachedAgentCredentialGoesWithItsServer() async throws {
        try await withTestHub { hub, client in
            let account = try await hub.account("cache@example.com")
            let world = try await AccountWorld.build(hub, client, account: account, prefix: "k")
            let agent: HTTPFields = [.authorization: "Agent \(try #require(world.agentCredential))"]
            #expect(try await client.call(.get, "/api/agent/v1/commands?wait=0", headers: agent).status == .ok)
            #expect(await hub.services.credentials.count == 1, "the poll's credential is remembered")
            #expect(try await client.call(.get, "/api/agent/v1/commands?wait=0", headers: agent).status == .ok)
            let removed = try await client.call(.delete, "/api/v1/servers/\(world.serverID)", token: account.token)
            #expect(removed.status == .ok, "\(removed)")
            expectError(try await client.call(.get, "/api/agent/v1/commands?wait=0", headers: agent), .unauthorized)
        }
    }

    /// `GET /runs/{run}?wait=N` (how `jobs run --wait` follows a run): an unfinished run answers
    /// at its next change, woken by the agent's event, not after its N seconds; a finished one at once.
    @Test func aRunWaitAnswersAtTheRunsNextChange() async throws {
        try await withTestHub { hub, client in
            let account = try await hub.account("follow@example.com")
            let world = try await AccountWorld.build(hub, client, account: account, prefix: "f")
            let queued = try await hub.store.runs(accountID: account.id, filter: RunFilter(status: .queued), after: nil, limit: 10).items
            var run = try #require(queued.first { $0.jobID == world.jobID })
            let runID = run.id
            expectError(try await client.call(.get, "/api/v1/runs/\(runID)?wait=31", token: account.token), .badRequest, field: "wait")
            let started = ContinuousClock.now
            async let answer = client.call(.get, "/api/v1/runs/\(runID)?wait=30", token: account.token)
            // The request waits on the run's bell before the agent reports.
            for _ in 0..<200 where await hub.store.runBell.waiting == 0 { try await Task.sleep(for: .milliseconds(10)) }
            #expect(await hub.store.runBell.waiting == 1)
            run.status = .running
            run.startedAt = hub.clock.now()
            _ = try await hub.store.ingest(
                RunEvent(id: "evt_follow_1", kind: .started, run: run), accountID: account.id, serverID: world.serverID, now: hub.clock.now())
            let woken = try await answer
            #expect(woken.json["status"].string == "running", "\(woken)")
            #expect(ContinuousClock.now - started < .seconds(20), "woken by the event, not after the 30 s wait")
            run.status = .failed
            run.finishedAt = hub.clock.now()
            _ = try await hub.store.ingest(
                RunEvent(id: "evt_follow_2", kind: .finished, run: run), accountID: account.id, serverID: world.serverID, now: hub.clock.now())
            let finishedAt = ContinuousClock.now
            let finished = try await client.call(.get, "/api/v1/runs/\(runID)?wait=30", token: account.token)
            #expect(finished.json["status"].string == "failed", "\(finished)")
            #expect(ContinuousClock.now - finishedAt < .seconds(20), "a finished run answers at once")
        }
    }

    @Test func theHubsStreamTotalIsBounded() async throws {
        let slots = EventStreamSlots(perSession: 2, total: 3)
        #expect(await slots.take(session: "a"))
        #expect(await slots.take(session: "a"))
        #expect(await slots.take(session: "a") == false, "its share")
        #expect(await slots.take(session: "b"))
        #expect(await slots.take(session: "c") == false, "the hub's total")
        await slots.release(session: "a")
        #expect(await slots.take(session: "c"))
        await slots.release(session: "nobody")
        #expect(await slots.inUse == 3)
    }

    @Test func jsonBodiesAreSmallAndAgentUploadsBounded() async throws {
        try await withTestHub { hub, client in
            let account = try await hub.account("bodies@example.com")
            let world = try await AccountWorld.build(hub, client, account: account, prefix: "b")
            let agent: HTTPFields = [.authorization: "Agent \(try #require(world.agentCredential))"]
            let big = String(repeating: "x", count: 100 * 1024)
            let server = try await client.call(.post, "/api/v1/servers", token: account.token, body: #"{"name":"\#(big)"}"#)
            expectError(server, .contentTooLarge, code: "too_large")
            // A download part: its number is required, and it is at most 1 MiB.
            let stream = try await hub.services.downloads.open(id: "dl_x", serverID: world.serverID)
            let nobody = try await client.call(.post, "/api/agent/v1/downloads/dl_other?seq=0", body: "part", headers: agent)
            expectError(nobody, .notFound)
            let unnumbered = try await client.call(.post, "/api/agent/v1/downloads/dl_x", body: "part", headers: agent)
            expectError(unnumbered, .badRequest, field: "seq")
            let oversized = try await client.execute(
                uri: "/api/agent/v1/downloads/dl_x?seq=0", method: .post, headers: agent,
                body: ByteBuffer(repeating: 0x61, count: 1024 * 1024 + 1))
            #expect(oversized.status == .contentTooLarge)
            let skipped = try await client.call(.post, "/api/agent/v1/downloads/dl_x?seq=1", body: "part", headers: agent)
            expectError(skipped, .conflict, code: "out_of_order", field: "seq")
            #expect(try await client.call(.post, "/api/agent/v1/downloads/dl_x?seq=0&done=1", body: "all", headers: agent).status == .ok)
            var received = ""
            for try await part in stream { received += String(buffer: part) }
            #expect(received == "all")
        }
    }

    @Test func aListingIsBoundedPerPartAndPerSnapshotCopy() async throws {
        try await withTestHub(configure: Self.tenListingEntries) { hub, client in
            let account = try await hub.account("listing@example.com")
            let world = try await AccountWorld.build(hub, client, account: account, prefix: "l")
            let agent: HTTPFields = [.authorization: "Agent \(try #require(world.agentCredential))"]
            try await hub.store.startListing(
                accountID: account.id, snapshotID: world.snapshotID, destinationID: world.destinationID, serverID: world.serverID,
                now: hub.clock.now())
            func part(_ names: Range<Int>, done: Bool = false) -> String {
                let entries = names.map { #"{"parent":"/","name":"f\#($0)","type":"file","size":1,"mode":420}"# }
                return #"{"destinationID":"\#(world.destinationID)","entries":[\#(entries.joined(separator: ","))],"done":\#(done)}"#
            }
            let path = "/api/agent/v1/listings/\(world.snapshotID)"
            let tooManyInAPart = try await client.call(.post, path, body: part(0..<5001), headers: agent)
            expectError(tooManyInAPart, .contentTooLarge, field: "entries")
            #expect(try await client.call(.post, path, body: part(0..<6), headers: agent).status == .ok)
            let over = try await client.call(.post, path, body: part(6..<12), headers: agent)
            expectError(over, .contentTooLarge, field: "entries")
            let listing = try #require(
                try await hub.store.listing(accountID: account.id, snapshotID: world.snapshotID, destinationID: world.destinationID))
            #expect(listing.status == .failed && listing.entries == 6, "\(listing)")
            #expect(listing.error?.contains("more than 10 entries") == true, "\(listing)")
        }
    }
}
