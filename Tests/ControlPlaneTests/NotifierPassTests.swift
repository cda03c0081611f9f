import BackupCore
import Foundation
import HTTPTypes
import HummingbirdTesting
import Store
import Testing

@testable import ControlPlane

/// The notifier's passes on a hub whose clock the test moves: one alert per offline server (not
/// one per job), its recovery, and one daily digest.
@Suite("notifier passes")
struct NotifierPassTests {
    func events(_ hub: TestHub, _ accountID: String, channel: String) async throws -> [String] {
        try await hub.store.deliveries(accountID: accountID, limit: 100).filter { $0.channelID == channel }.sorted { $0.createdAt < $1.createdAt }
            .map(\.event)
    }

    @Test func anOfflineServerIsOneAlertAndOneRecoveryWhateverItsJobs() async throws {
        try await withTestHub { hub, client in
            let account = try await hub.account("offline@example.com", plan: .plus)
            let world = try await AccountWorld.build(hub, client, account: account, prefix: "off")
            let token = account.token
            // A second job on the same server: still one server alert.
            expectStatus(
                try await client.call(
                    .post, "/api/v1/jobs", token: token,
                    body: """
                        {"name":"second","server":"\(world.serverID)","kind":"full","sources":{"paths":["/etc"]},"schedule":"monthly","destinations":["\(world.destinationName)"]}
                        """), .created)
            let channel = try await client.call(
                .post, "/api/v1/notifications/channels", token: token,
                body: #"{"name":"pager","url":"http://127.0.0.1:9/hook","rules":{"offlineMinutes":30,"missed":false}}"#)
            expectStatus(channel, .created)
            let channelID = try #require(channel.json["channel"]["id"].string)
            let notifier = HubNotifier(hub: hub.services, logger: TestHub.logger)
            try await notifier.evaluate()
            #expect(try await events(hub, account.id, channel: channelID).isEmpty, "all is well: nothing to say")

            hub.clock.advance(by: 20 * 60)
            try await notifier.evaluate()
            #expect(try await events(hub, account.id, channel: channelID).isEmpty, "offline for 20 minutes: under the rule's 30")
            hub.clock.advance(by: 15 * 60)
            try await notifier.evaluate()
            try await notifier.evaluate()
            #expect(try await events(hub, account.id, channel: channelID) == ["server.offline"], "one alert for the server, none per job")

            hub.clock.advance(by: 60)
            try await hub.store.touchServer(id: world.serverID, at: hub.clock.now())
            try await notifier.evaluate()
            try await notifier.evaluate()
            #expect(try await events(hub, account.id, channel: channelID) == ["server.offline", "server.recovered"])
        }
    }

    @Test func theDigestGoesOutOnceADay() async throws {
        try await withTestHub { hub, client in
            let account = try await hub.account("digest@example.com", plan: .plus)
            _ = try await AccountWorld.build(hub, client, account: account, prefix: "dig")
            let hour = Calendar(identifier: .gregorian).dateComponents(in: TimeZone(identifier: "UTC")!, from: hub.clock.now()).hour!
            let channel = try await client.call(
                .post, "/api/v1/notifications/channels", token: account.token,
                body: #"{"name":"daily","url":"http://127.0.0.1:9/hook","rules":{"digestHour":\#(hour)}}"#)
            let channelID = try #require(channel.json["channel"]["id"].string)
            let notifier = HubNotifier(hub: hub.services, logger: TestHub.logger)
            try await notifier.evaluate()
            try await notifier.evaluate()
            hub.clock.advance(by: 3600)
            try await notifier.evaluate()
            #expect(try await events(hub, account.id, channel: channelID).filter { $0 == "digest" }.count == 1)
            let body = try #require(try await hub.store.deliveries(accountID: account.id, limit: 10).first { $0.event == "digest" }?.body)
            #expect(body.contains("Daily backup digest"), "\(body)")
            hub.clock.advance(by: 86_400)
            try await notifier.evaluate()
            #expect(try await events(hub, account.id, channel: channelID).filter { $0 == "digest" }.count == 2, "the next day's")
        }
    }

    /// Two hub replicas on one database: only the lease holder evaluates and delivers, so the
    /// offline alert is queued once; when the holder stops renewing, the other takes over.
    @Test func twoReplicasQueueEachAlertOnce() async throws {
        try await withTestHub { hub, client in
            let account = try await hub.account("replicas@example.com", plan: .plus)
            _ = try await AccountWorld.build(hub, client, account: account, prefix: "rep")
            let channel = try await client.call(
                .post, "/api/v1/notifications/channels", token: account.token,
                body: #"{"name":"pager","url":"http://127.0.0.1:9/hook","rules":{"offlineMinutes":30,"missed":false}}"#)
            expectStatus(channel, .created)
            let channelID = try #require(channel.json["channel"]["id"].string)
            let first = HubNotifier(hub: hub.services, logger: TestHub.logger)
            let other = HubServices(store: hub.store, clock: hub.clock, configuration: hub.services.configuration)
            let second = HubNotifier(hub: other, logger: TestHub.logger)
            #expect(hub.services.instanceID != other.instanceID)

            hub.clock.advance(by: 35 * 60)
            let ran = try await withThrowingTaskGroup(of: Bool.self) { group in
                // Each replica's loop runs its passes one after another; the two replicas run at once.
                for notifier in [first, second] { group.addTask { try await notifier.pass() } }
                return try await group.reduce(into: [Bool]()) { $0.append($1) }
            }
            #expect(ran.filter { $0 }.count == 1, "one replica holds the lease: \(ran)")
            for notifier in [second, first, second] { try await notifier.pass() }
            let sent = try await events(hub, account.id, channel: channelID)
            #expect(sent == ["server.offline"], "one alert, whichever replica sent it: \(sent)")
            let secondRuns = try await second.pass()
            let firstRuns = try await first.pass()
            #expect(secondRuns != firstRuns, "the lease stays with its holder while it renews")

            // The holder stops (killed: no release); its lease expires and the other replica takes over.
            hub.clock.advance(by: 10 * 60)
            let holderIsFirst = try await first.pass()
            let takeover = holderIsFirst ? second : first
            #expect(try await !takeover.pass())
            hub.clock.advance(by: max(3 * hub.services.configuration.notifyInterval, 60) + 1)
            #expect(try await takeover.pass(), "an expired lease is taken over")
        }
    }
}
