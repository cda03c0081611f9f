import BackupCore
import Foundation
import HTTPTypes
import HubAPI
import HummingbirdTesting
import LinkProtocol
import Testing

@testable import ControlPlane

/// Repository statistics: reported with a finished run, stored once, served by the API and shown on the destination page.
@Suite("API: repository statistics")
struct RepositoryStatsTests {
    @Test func reportedStatsAreStoredOnceServedAndShown() async throws {
        try await withTestHub { hub, client in
            let account = try await hub.account("stats-\(UUID().uuidString.prefix(8))@example.com", plan: .plus)
            let world = try await AccountWorld.build(hub, client, account: account, prefix: "st")
            let agent: HTTPFields = [.authorization: "Agent \(try #require(world.agentCredential))"]
            let empty = try await client.call(.get, "/api/v1/destinations/\(world.destinationID)/stats", token: account.token)
            expectStatus(empty, .ok)
            #expect(empty.json["points"].array.isEmpty && empty.json["current"].isNull)

            let now = hub.clock.now()
            func deliver(_ stored: Int64, snapshots: Int, at offset: TimeInterval) async throws -> Run {
                var measured = DestinationResult(destinationID: world.destinationID, status: .succeeded, resticSnapshotIDs: ["abcd\(Int(offset))"])
                measured.repository = RepositoryStats(totalBytes: stored * 3, storedBytes: stored, snapshotCount: snapshots)
                var foreign = DestinationResult(destinationID: "dst_notinthisaccount00", status: .succeeded)
                foreign.repository = RepositoryStats(totalBytes: 1, storedBytes: 1, snapshotCount: 1)
                let run = Run(
                    id: ResourceID.make(.run), accountID: account.id, serverID: world.serverID, jobID: world.jobID, trigger: .timer,
                    slot: now.addingTimeInterval(offset), status: .succeeded, createdAt: now.addingTimeInterval(-300),
                    startedAt: now.addingTimeInterval(-300), finishedAt: now.addingTimeInterval(offset / 100 - 100),
                    results: [measured, foreign])
                let batch = EventBatch(events: [AgentEvent(id: ResourceID.make(.event), kind: .runFinished, occurredAt: now, run: run)])
                let body = String(decoding: try HubJSON.encoder().encode(batch), as: UTF8.self)
                expectStatus(try await client.call(.post, "/api/agent/v1/events", body: body, headers: agent), .ok)
                expectStatus(try await client.call(.post, "/api/agent/v1/events", body: body, headers: agent), .ok)
                return run
            }
            _ = try await deliver(1_000_000, snapshots: 3, at: 3600)
            _ = try await deliver(1_500_000, snapshots: 4, at: 7200)
            let stats = try await client.call(.get, "/api/v1/destinations/\(world.destinationName)/stats", token: account.token)
            expectStatus(stats, .ok)
            #expect(stats.json["points"].array.count == 2, "each run recorded once, foreign destinations not at all: \(stats.text)")
            #expect(stats.json["current"]["storedBytes"].int == 1_500_000)
            #expect(stats.json["current"]["totalBytes"].int == 4_500_000)
            #expect(stats.json["current"]["snapshotCount"].int == 4)
            #expect(stats.json["storedBytesPerDay"].isNull, "under a day of history")
            expectStatus(
                try await client.call(.get, "/api/v1/destinations/\(world.destinationID)/stats?since=yesterday", token: account.token), .badRequest)
            let other = try await hub.account("stats-other-\(UUID().uuidString.prefix(8))@example.com")
            expectStatus(try await client.call(.get, "/api/v1/destinations/\(world.destinationID)/stats", token: other.token), .notFound)

            let points = [
                RepositoryStatsPoint(
                    serverID: "a", runID: "1", measuredAt: now, stats: RepositoryStats(totalBytes: 0, storedBytes: 100, snapshotCount: 1)),
                RepositoryStatsPoint(
                    serverID: "a", runID: "2", measuredAt: now.addingTimeInterval(2 * 86_400),
                    stats: RepositoryStats(totalBytes: 0, storedBytes: 300, snapshotCount: 2)),
                RepositoryStatsPoint(
                    serverID: "b", runID: "3", measuredAt: now.addingTimeInterval(86_400),
                    stats: RepositoryStats(totalBytes: 0, storedBytes: 50, snapshotCount: 1)),
            ]
            #expect(RepositoryGrowth.storedPerDay(points) == 100)
            #expect(RepositoryGrowth.current(points)?.storedBytes == 350)
            #expect(RepositoryGrowth.storedSeries(points).map(\.1) == [100, 150, 350])

            let login = try await client.call(
                .post, "/api/v1/session", body: #"{"email":"\#(account.email)","password":"\#(TestHub.password)"}"#)
            let secret = try #require(login.cookies["mzpanel_session"]?.value, "\(login)")
            let page = try await client.call(
                .get, "/backups/destinations/\(world.destinationID)", headers: [.cookie: "mzpanel_session=\(secret)"]
            ).text
            #expect(page.contains("data-repository-stats"), "\(page)")
            #expect(page.contains("Stored (deduplicated)") && page.contains("<svg class=\"chart\""))
        }
    }
}
