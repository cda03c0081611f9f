import BackupCore
import ControlPlane
import Foundation
import HTTPTypes
import HubAPI
import HummingbirdTesting
import Testing

@Suite("API: servers and enrollment tokens")
struct APIServerTests {
    @Test func serversAreCreatedShownRenamedAndDeleted() async throws {
        try await withTestHub { hub, client in
            let account = try await hub.account("servers@example.com")
            let token = account.token
            let created = try await client.call(.post, "/api/v1/servers", token: token, body: #"{"name":" web1 "}"#)
            expectStatus(created, .created)
            let id = try #require(created.json["server"]["id"].string)
            #expect(ResourceID.looksLike(id, .server))
            #expect(created.json["server"]["name"].string == "web1")
            #expect(created.json["server"]["accountID"].string == account.id)
            let enrollment = created.json["enrollment"]
            let secret = try #require(enrollment["secret"].string)
            #expect(secret.hasPrefix("mze_"))
            #expect(enrollment["command"].string?.contains(secret) == true)
            let command = try #require(enrollment["command"].string)
            #expect(command.hasPrefix("printf '%s\\n' '\(secret)' | mzpanel-agent enroll --url "), "the token reaches the agent on stdin")
            #expect(command.hasSuffix(" --token-file -") && !command.contains("--token "), "never a token in argv: \(command)")
            #expect(enrollment["installCommand"].string?.hasPrefix("curl -fsSL http") == true)
            #expect(enrollment["installCommand"].string?.hasSuffix("/install.sh | sudo sh") == true)
            #expect(enrollment["enrollmentToken"]["serverID"].string == id)
            #expect(enrollment["enrollmentToken"]["expiresAt"].string == HubJSON.format(hub.clock.now().addingTimeInterval(3600)))

            expectStatus(try await client.call(.post, "/api/v1/servers", token: token, body: #"{"name":"db1"}"#), .created)
            let list = try await client.call(.get, "/api/v1/servers", token: token)
            #expect(
                Set(list.json["servers"].array.compactMap { $0["name"].string }) == ["db1", "web1"],
                "newest first; the test clock gives both the same time")

            for reference in [id, "web1"] {
                let shown = try await client.call(.get, "/api/v1/servers/\(reference)", token: token)
                expectStatus(shown, .ok)
                #expect(shown.json["id"].string == id)
            }

            expectError(
                try await client.call(.post, "/api/v1/servers", token: token, body: #"{"name":"web1"}"#), .conflict, code: "conflict", field: "name")
            expectError(
                try await client.call(.patch, "/api/v1/servers/web1", token: token, body: #"{"name":"db1"}"#), .conflict, code: "conflict",
                field: "name")

            let renamed = try await client.call(.patch, "/api/v1/servers/web1", token: token, body: #"{"name":"web-one"}"#)
            expectStatus(renamed, .ok)
            #expect(renamed.json["name"].string == "web-one")
            #expect(renamed.json["id"].string == id)
            expectError(try await client.call(.get, "/api/v1/servers/web1", token: token), .notFound, code: "not_found")
            let unchanged = try await client.call(.patch, "/api/v1/servers/\(id)", token: token, body: "{}")
            #expect(unchanged.json["name"].string == "web-one", "an empty update changes nothing")

            let deleted = try await client.call(.delete, "/api/v1/servers/web-one", token: token)
            expectStatus(deleted, .ok)
            #expect(deleted.json["deleted"].bool == true)
            #expect(deleted.json["exposedDestinations"].array.isEmpty)
            expectError(try await client.call(.get, "/api/v1/servers/\(id)", token: token), .notFound)
            expectError(try await client.call(.delete, "/api/v1/servers/\(id)", token: token), .notFound)
        }
    }

    @Test func deletingAServerNamesTheDestinationsItCouldOpen() async throws {
        try await withTestHub { hub, client in
            let account = try await hub.account("exposed@example.com")
            let world = try await AccountWorld.build(hub, client, account: account, prefix: "ex")
            let deleted = try await client.call(.delete, "/api/v1/servers/\(world.serverName)", token: account.token)
            expectStatus(deleted, .ok)
            #expect(deleted.json["exposedDestinations"].ids == [world.destinationID])
            // Its jobs, envelopes and enrollment tokens went with it; history stays.
            expectError(try await client.call(.get, "/api/v1/jobs/\(world.jobID)", token: account.token), .notFound)
            let envelopes = try await client.call(.get, "/api/v1/destinations/\(world.destinationID)/envelopes", token: account.token)
            #expect(envelopes.json["envelopes"].array.isEmpty)
            expectStatus(try await client.call(.get, "/api/v1/runs/\(world.runID)", token: account.token), .ok)
            expectStatus(try await client.call(.get, "/api/v1/snapshots/\(world.snapshotID)", token: account.token), .ok)
        }
    }

    @Test func enrollmentTokensAreIssuedListedAndWithdrawn() async throws {
        try await withTestHub { hub, client in
            let account = try await hub.account("enroll@example.com")
            let token = account.token
            let server = try await client.call(.post, "/api/v1/servers", token: token, body: #"{"name":"web1"}"#)
            let serverID = try #require(server.json["server"]["id"].string)
            let first = try #require(server.json["enrollment"]["enrollmentToken"]["id"].string)

            let custom = try await client.call(.post, "/api/v1/servers/web1/enrollment-tokens", token: token, body: #"{"expiresInSeconds":600}"#)
            expectStatus(custom, .created)
            #expect(custom.json["enrollmentToken"]["expiresAt"].string == HubJSON.format(hub.clock.now().addingTimeInterval(600)))
            #expect(custom.json["secret"].string?.hasPrefix("mze_") == true)
            let customID = try #require(custom.json["enrollmentToken"]["id"].string)
            let defaulted = try await client.call(.post, "/api/v1/servers/\(serverID)/enrollment-tokens", token: token, body: "{}")
            expectStatus(defaulted, .created)
            #expect(defaulted.json["enrollmentToken"]["expiresAt"].string == HubJSON.format(hub.clock.now().addingTimeInterval(3600)))

            let list = try await client.call(.get, "/api/v1/servers/web1/enrollment-tokens", token: token)
            expectStatus(list, .ok)
            #expect(Set(list.json["enrollmentTokens"].ids) == [first, customID, try #require(defaulted.json["enrollmentToken"]["id"].string)])
            #expect(!list.text.contains("mze_"), "secrets are not listed")

            expectStatus(try await client.call(.delete, "/api/v1/servers/web1/enrollment-tokens/\(customID)", token: token), .ok)
            expectError(
                try await client.call(.delete, "/api/v1/servers/web1/enrollment-tokens/\(customID)", token: token), .notFound, code: "not_found")
            let after = try await client.call(.get, "/api/v1/servers/web1/enrollment-tokens", token: token)
            #expect(after.json["enrollmentTokens"].array.count == 2)

            // A token of another server of the same account is not withdrawn through this one.
            let other = try await client.call(.post, "/api/v1/servers", token: token, body: #"{"name":"web2"}"#)
            let otherToken = try #require(other.json["enrollment"]["enrollmentToken"]["id"].string)
            expectError(try await client.call(.delete, "/api/v1/servers/web1/enrollment-tokens/\(otherToken)", token: token), .notFound)
            let web2 = try await client.call(.get, "/api/v1/servers/web2/enrollment-tokens", token: token)
            #expect(web2.json["enrollmentTokens"].ids == [otherToken])
        }
    }
}
