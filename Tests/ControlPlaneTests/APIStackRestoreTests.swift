import BackupCore
import Foundation
import HTTPTypes
import HubAPI
import HummingbirdTesting
import Store
import Testing

@testable import ControlPlane

/// `POST /api/v1/restores` with a `stack` part (docs/stacks.md): names checked against what the
/// snapshot holds (4xx naming the unknown ones), the options carried whole in the agent's order.
@Suite("API: Docker stack restores")
struct APIStackRestoreTests {
    static let contents = StackContents(
        project: "shop", directory: "/srv/shop", volumes: ["pgdata", "uploads"],
        services: [
            StackContents.Service(name: "db", volumes: ["pgdata"], dump: .postgresql),
            StackContents.Service(name: "app", volumes: ["uploads"], dump: nil),
        ])

    @Test func namesAreCheckedAgainstTheSnapshotAndTheOptionsReachTheAgent() async throws {
        try await withTestHub { hub, client in
            let account = try await hub.account("stackrestore@example.com", plan: .plus)
            let world = try await AccountWorld.build(hub, client, account: account, prefix: "sr")
            let snapshot = Snapshot(
                id: ResourceID.make(.snapshot), accountID: account.id, serverID: world.serverID, jobID: world.jobID, runID: ResourceID.make(.run),
                createdAt: hub.clock.now(), copies: [SnapshotCopy(destinationID: world.destinationID, resticSnapshotIDs: ["r7", "r8"])],
                stack: Self.contents)
            try await hub.store.insertSnapshot(snapshot)

            let shown = try await client.call(.get, "/api/v1/snapshots/\(snapshot.id)", token: account.token)
            #expect(shown.status == .ok && shown.json["stack"]["project"].string == "shop", "\(shown)")
            #expect(shown.json["stack"]["services"][0]["dump"].string == "postgresql", "\(shown)")

            let volume = try await client.call(
                .post, "/api/v1/restores", token: account.token,
                body: #"{"snapshot":"\#(snapshot.id)","stack":{"volumes":["uploads","nosuch"]}}"#)
            expectError(volume, .badRequest, code: "invalid", field: "stack.volumes")
            let volumeMessage = volume.error["message"].string ?? ""
            #expect(volumeMessage.contains("nosuch") && volumeMessage.contains("pgdata, uploads"), "\(volumeMessage)")

            let service = try await client.call(
                .post, "/api/v1/restores", token: account.token,
                body: #"{"snapshot":"\#(snapshot.id)","stack":{"databases":[{"service":"app"}]}}"#)
            expectError(service, .badRequest, code: "invalid", field: "stack.databases")
            let serviceMessage = service.error["message"].string ?? ""
            #expect(serviceMessage.contains("service app") && serviceMessage.contains("dumped services: db"), "\(serviceMessage)")

            let badName = try await client.call(
                .post, "/api/v1/restores", token: account.token,
                body: #"{"snapshot":"\#(snapshot.id)","stack":{"databases":[{"service":"db","into":"x'; drop"}]}}"#)
            expectError(badName, .badRequest, field: "stack.databases[0].into")
            let relative = try await client.call(
                .post, "/api/v1/restores", token: account.token,
                body: #"{"snapshot":"\#(snapshot.id)","stack":{"projectDirectory":"srv/shop"}}"#)
            expectError(relative, .badRequest, field: "stack.projectDirectory")
            let mixed = try await client.call(
                .post, "/api/v1/restores", token: account.token,
                body: #"{"snapshot":"\#(snapshot.id)","files":true,"stack":{}}"#)
            expectError(mixed, .badRequest, field: "stack")
            let notAStack = try await client.call(
                .post, "/api/v1/restores", token: account.token, body: #"{"snapshot":"\#(world.snapshotID)","stack":{}}"#)
            expectError(notAStack, .badRequest, field: "stack")

            let queued = try await client.call(
                .post, "/api/v1/restores", token: account.token,
                body:
                    #"{"snapshot":"\#(snapshot.id)","dryRun":true,"stack":{"project":"shopcopy","volumes":["uploads"],"databases":[{"service":"db","into":"shop_copy"}]}}"#
            )
            #expect(queued.status == .accepted, "\(queued)")
            #expect(queued.json["restore"]["files"].bool == false && queued.json["restore"]["stack"]["volumes"][0].string == "uploads", "\(queued)")
            let credential = try #require(world.agentCredential)
            let commands = try await client.call(.get, "/api/agent/v1/commands?wait=0", headers: [.authorization: "Agent \(credential)"])
            let restore = commands.json["commands"].array.first { $0["kind"].string == "restore" }
            let plan = try #require(restore, "\(commands)")["restore"]["run"]["restore"]
            #expect(plan["stack"]["project"].string == "shopcopy", "\(commands)")
            #expect(plan["stack"]["databases"][0]["into"].string == "shop_copy", "\(commands)")
            #expect(plan["dryRun"].bool == true && plan["resticSnapshotIDs"].array.count == 2, "\(commands)")
        }
    }
}
