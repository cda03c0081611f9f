import BackupCore
import ControlPlane
import Foundation
import HTTPTypes
import HummingbirdTesting
import LinkProtocol
import Store
import Testing

/// Browsing through the API, without an agent: the first look asks the snapshot's server to list
/// it (202), says when that server is offline, and refuses bad paths and downloads before listing.
@Suite("API: browse")
struct APIBrowseTests {
    @Test func theFirstLookAsksTheServerAndSaysWhenItIsOffline() async throws {
        try await withTestHub { hub, client in
            let account = try await hub.account("browse@example.com", plan: .plus)
            let world = try await AccountWorld.build(hub, client, account: account, prefix: "br")
            let token = account.token
            let first = try await client.call(.get, "/api/v1/snapshots/\(world.snapshotID)/tree?path=/srv", token: token)
            expectStatus(first, .accepted)
            #expect(first.json["status"].string == "listing")
            #expect(first.json["error"].isNull, "the server was just heard from")
            let commands = try await hub.store.pendingCommands(serverID: world.serverID)
            #expect(commands.contains { $0.kind == .listSnapshot && $0.listing?.snapshotID == world.snapshotID }, "the server is asked to list it")

            hub.clock.advance(by: 300)
            let waiting = try await client.call(.get, "/api/v1/snapshots/\(world.snapshotID)/tree", token: token)
            expectStatus(waiting, .accepted)
            #expect(waiting.json["error"].string?.contains("offline") == true, "\(waiting)")

            expectError(
                try await client.call(.get, "/api/v1/snapshots/\(world.snapshotID)/tree?path=/a/../etc", token: token), .badRequest, field: "path")
            expectError(try await client.call(.get, "/api/v1/snapshots/snp_nosuchsnapshotaaaaaa/tree", token: token), .notFound)
            expectError(
                try await client.call(.get, "/api/v1/snapshots/\(world.snapshotID)/download?path=/srv", token: token), .conflict, code: "not_listed")
        }
    }
}
