import BackupCore
import ControlPlane
import Foundation
import HTTPTypes
import HubAPI
import HummingbirdTesting
import Testing

@Suite("API: account and API tokens")
struct APIAccountTests {
    @Test(arguments: [(Plan.free, ["local"]), (Plan.plus, ["local", "s3", "b2", "rclone", "peer"])])
    func accountShowsThePlanAndItsDestinationKinds(plan: Plan, kinds: [String]) async throws {
        try await withTestHub { hub, client in
            let account = try await hub.account("plan-\(plan.rawValue)@example.com", plan: plan)
            let me = try await client.call(.get, "/api/v1/account", token: account.token)
            expectStatus(me, .ok)
            #expect(me.json["account"]["id"].string == account.id)
            #expect(me.json["account"]["plan"].string == plan.rawValue)
            #expect(me.json["plan"]["name"].string == plan.rawValue)
            #expect(me.json["plan"]["title"].string == plan.title)
            #expect(me.json["plan"]["destinationKinds"].array.compactMap(\.string) == kinds)
        }
    }

    @Test func tokensAreCreatedListedAndRevoked() async throws {
        try await withTestHub { hub, client in
            let account = try await hub.account("tokens@example.com")
            let created = try await client.call(.post, "/api/v1/tokens", token: account.token, body: #"{"name":"  backup script  "}"#)
            expectStatus(created, .created)
            let secret = try #require(created.json["secret"].string)
            let tokenID = try #require(created.json["token"]["id"].string)
            #expect(secret.hasPrefix("mzp_"))
            #expect(created.json["token"]["name"].string == "backup script")
            #expect(created.json["token"]["prefix"].string.map { secret.hasPrefix($0) } == true)
            #expect(created.json["token"]["accountID"].string == account.id)

            expectStatus(try await client.call(.get, "/api/v1/account", token: secret), .ok)

            let list = try await client.call(.get, "/api/v1/tokens", token: account.token)
            expectStatus(list, .ok)
            #expect(list.json["tokens"].array.count == 2)
            #expect(list.json["tokens"].ids.contains(tokenID))
            #expect(!list.text.contains(secret), "a secret is shown once, at creation")
            #expect(!list.text.contains(account.token))

            let revoke = try await client.call(.delete, "/api/v1/tokens/\(tokenID)", token: account.token)
            expectStatus(revoke, .ok)
            #expect(revoke.json["deleted"].bool == true)
            expectError(try await client.call(.get, "/api/v1/account", token: secret), .unauthorized, code: "unauthorized")
            expectError(try await client.call(.delete, "/api/v1/tokens/\(tokenID)", token: account.token), .notFound, code: "not_found")
            let after = try await client.call(.get, "/api/v1/tokens", token: account.token)
            #expect(after.json["tokens"].array.first { $0["id"].string == tokenID }?["revokedAt"].string == HubJSON.format(hub.clock.now()))
            // A token can revoke itself; the next request with it fails.
            let ownID = try #require(after.json["tokens"].array.first { $0["id"].string != tokenID }?["id"].string)
            expectStatus(try await client.call(.delete, "/api/v1/tokens/\(ownID)", token: account.token), .ok)
            expectError(try await client.call(.get, "/api/v1/tokens", token: account.token), .unauthorized)
        }
    }

    @Test func tokenUseIsRecorded() async throws {
        try await withTestHub { hub, client in
            let account = try await hub.account("touch@example.com")
            hub.clock.advance(by: 90)
            _ = try await client.call(.get, "/api/v1/account", token: account.token)
            let list = try await client.call(.get, "/api/v1/tokens", token: account.token)
            #expect(list.json["tokens"][0]["lastUsedAt"].string == HubJSON.format(hub.clock.now()))
        }
    }
}
