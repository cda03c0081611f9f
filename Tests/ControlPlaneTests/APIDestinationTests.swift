import BackupCore
import ControlPlane
import Foundation
import HTTPTypes
import HummingbirdTesting
import Store
import Testing

@Suite("API: destinations and sealed envelopes")
struct APIDestinationTests {
    @Test func localDestinationsOnFree() async throws {
        try await withTestHub { hub, client in
            let account = try await hub.account("dest@example.com")
            let token = account.token
            let created = try await client.call(
                .post, "/api/v1/destinations", token: token,
                body: #"{"name":"nas","kind":"LOCAL","settings":{"path":" /var/backups//mzpanel/ ","bucket":"ignored"}}"#)
            expectStatus(created, .created)
            let id = try #require(created.json["id"].string)
            #expect(ResourceID.looksLike(id, .destination))
            #expect(created.json["kind"].string == "local")
            #expect(created.json["settings"]["path"].string == "/var/backups/mzpanel", "paths are normalized")
            #expect(created.json["settings"]["bucket"].isNull, "settings a kind does not use are dropped")

            let list = try await client.call(.get, "/api/v1/destinations", token: token)
            #expect(list.json["destinations"].ids == [id])

            for reference in [id, "nas"] {
                let shown = try await client.call(.get, "/api/v1/destinations/\(reference)", token: token)
                expectStatus(shown, .ok)
                #expect(shown.json["id"].string == id)
                #expect(shown.json["jobs"].array.isEmpty)
                #expect(shown.json["sealedTo"].array.isEmpty)
            }

            let patched = try await client.call(
                .patch, "/api/v1/destinations/nas", token: token, body: #"{"name":"nas2","settings":{"path":"/srv/nas2"}}"#)
            expectStatus(patched, .ok)
            #expect(patched.json["name"].string == "nas2")
            #expect(patched.json["settings"]["path"].string == "/srv/nas2")
            #expect(patched.json["kind"].string == "local")
            expectError(
                try await client.call(.patch, "/api/v1/destinations/nas2", token: token, body: #"{"kind":"s3"}"#), .badRequest, code: "invalid",
                field: "kind")
            expectStatus(try await client.call(.patch, "/api/v1/destinations/nas2", token: token, body: #"{"kind":"local"}"#), .ok)
            expectStatus(
                try await client.call(
                    .post, "/api/v1/destinations", token: token, body: #"{"name":"usb","kind":"local","settings":{"path":"/mnt/usb"}}"#), .created)
            expectError(try await client.call(.patch, "/api/v1/destinations/usb", token: token, body: #"{"name":"nas2"}"#), .conflict, field: "name")
            expectError(
                try await client.call(
                    .post, "/api/v1/destinations", token: token, body: #"{"name":"usb","kind":"local","settings":{"path":"/mnt/x"}}"#), .conflict,
                field: "name")

            let deleted = try await client.call(.delete, "/api/v1/destinations/nas2", token: token)
            expectStatus(deleted, .ok)
            #expect(deleted.json["deleted"].bool == true)
            expectError(try await client.call(.get, "/api/v1/destinations/\(id)", token: token), .notFound, code: "not_found")
        }
    }

    @Test func offsiteKindsNeedPlus() async throws {
        try await withTestHub { hub, client in
            let free = try await hub.account("free@example.com", plan: .free)
            let plus = try await hub.account("plus@example.com", plan: .plus)
            let s3 =
                #"{"name":"offsite","kind":"s3","settings":{"endpoint":"https://s3.eu-central-1.amazonaws.com/","bucket":"acme-backups","prefix":"/hub/","region":"eu-central-1"}}"#

            let refused = try await client.call(.post, "/api/v1/destinations", token: free.token, body: s3)
            expectError(refused, HTTPResponse.Status(code: 402), code: "plan_required", field: "kind")
            #expect(refused.error["message"].string?.contains("Plus plan") == true, "\(refused)")
            #expect(try await client.call(.get, "/api/v1/destinations", token: free.token).json["destinations"].array.isEmpty)

            for kind in ["b2", "rclone", "peer"] {
                let other = try await client.call(.post, "/api/v1/destinations", token: free.token, body: #"{"name":"x-\#(kind)","kind":"\#(kind)"}"#)
                expectError(other, HTTPResponse.Status(code: 402), code: "plan_required")
            }

            let created = try await client.call(.post, "/api/v1/destinations", token: plus.token, body: s3)
            expectStatus(created, .created)
            #expect(created.json["kind"].string == "s3")
            #expect(created.json["settings"]["endpoint"].string == "https://s3.eu-central-1.amazonaws.com")
            #expect(created.json["settings"]["prefix"].string == "hub")
            #expect(created.json["settings"]["pathStyle"].bool == false)
        }
    }

    @Test func peerDestinationsStoreTheServerID() async throws {
        try await withTestHub { hub, client in
            let plus = try await hub.account("peer@example.com", plan: .plus)
            let server = try await client.call(.post, "/api/v1/servers", token: plus.token, body: #"{"name":"vault"}"#)
            let serverID = try #require(server.json["server"]["id"].string)
            let peer = try await client.call(
                .post, "/api/v1/destinations", token: plus.token,
                body: #"{"name":"peer","kind":"peer","settings":{"peerServerID":"vault","peerAddress":"vault.example.net:8443"}}"#)
            expectStatus(peer, .created)
            #expect(peer.json["settings"]["peerServerID"].string == serverID)
        }
    }

    @Test func aDestinationInUseCannotBeDeleted() async throws {
        try await withTestHub { hub, client in
            let account = try await hub.account("inuse@example.com")
            let world = try await AccountWorld.build(hub, client, account: account, prefix: "use")
            let shown = try await client.call(.get, "/api/v1/destinations/\(world.destinationName)", token: account.token)
            #expect(shown.json["jobs"].array.compactMap { $0["name"].string } == [world.jobName])
            #expect(shown.json["jobs"].ids == [world.jobID])
            #expect(shown.json["sealedTo"].array.compactMap(\.string) == [world.serverID])

            let refused = try await client.call(.delete, "/api/v1/destinations/\(world.destinationID)", token: account.token)
            expectError(refused, .conflict, code: "conflict")
            #expect(refused.error["message"].string?.contains(world.jobName) == true)
            expectStatus(try await client.call(.delete, "/api/v1/jobs/\(world.jobID)", token: account.token), .ok)
            expectStatus(try await client.call(.delete, "/api/v1/destinations/\(world.destinationID)", token: account.token), .ok)
        }
    }

    @Test func envelopesArePutReadListedAndDeleted() async throws {
        try await withTestHub { hub, client in
            let account = try await hub.account("envelopes@example.com", plan: .plus)
            let token = account.token
            let server = try await client.call(.post, "/api/v1/servers", token: token, body: #"{"name":"web1"}"#)
            let serverID = try #require(server.json["server"]["id"].string)
            let destinationID = try await OffsiteFixture.create(client, token: token, name: "nas")
            let bytes = Data((0...255).map(UInt8.init))
            let early = try await client.call(
                .put, "/api/v1/destinations/nas/envelopes/web1", token: token,
                body: #"{"keyID":"SHA256:abc","version":1,"ciphertext":"\#(bytes.base64EncodedString())"}"#)
            expectError(early, .conflict, code: "not_enrolled")
            try await hub.giveKey(accountID: account.id, serverID: serverID, fingerprint: "SHA256:abc")

            let put = try await client.call(
                .put, "/api/v1/destinations/nas/envelopes/web1", token: token,
                body: #"{"keyID":"SHA256:abc","version":1,"ciphertext":"\#(bytes.base64EncodedString())"}"#)
            expectStatus(put, .ok)
            #expect(put.json["destinationID"].string == destinationID)
            #expect(put.json["serverID"].string == serverID)
            #expect(put.json["accountID"].string == account.id)

            let got = try await client.call(.get, "/api/v1/destinations/\(destinationID)/envelopes/\(serverID)", token: token)
            expectStatus(got, .ok)
            #expect(got.json["ciphertext"].string.flatMap { Data(base64Encoded: $0) } == bytes, "the hub returns the ciphertext byte for byte")
            #expect(got.json["keyID"].string == "SHA256:abc")
            #expect(got.json["version"].int == 1)

            let replacement = Data("second sealing".utf8)
            let resealing = #"{"keyID":"SHA256:def","version":2,"ciphertext":"\#(replacement.base64EncodedString())"}"#
            let staleKey = try await client.call(.put, "/api/v1/destinations/nas/envelopes/\(serverID)", token: token, body: resealing)
            expectError(staleKey, .conflict, code: "conflict")
            try await hub.giveKey(accountID: account.id, serverID: serverID, fingerprint: "SHA256:def")  // the agent enrolled again
            let replaced = try await client.call(.put, "/api/v1/destinations/nas/envelopes/\(serverID)", token: token, body: resealing)
            expectStatus(replaced, .ok)
            let list = try await client.call(.get, "/api/v1/destinations/nas/envelopes", token: token)
            expectStatus(list, .ok)
            #expect(list.json["envelopes"].array.count == 1)
            #expect(list.json["envelopes"][0]["ciphertext"].string.flatMap { Data(base64Encoded: $0) } == replacement)
            #expect(list.json["envelopes"][0]["version"].int == 2)
            let detail = try await client.call(.get, "/api/v1/destinations/nas", token: token)
            #expect(detail.json["sealedTo"].array.compactMap(\.string) == [serverID])

            expectStatus(try await client.call(.delete, "/api/v1/destinations/nas/envelopes/web1", token: token), .ok)
            expectError(try await client.call(.get, "/api/v1/destinations/nas/envelopes/web1", token: token), .notFound, code: "not_found")
            expectError(try await client.call(.delete, "/api/v1/destinations/nas/envelopes/web1", token: token), .notFound, code: "not_found")
            #expect(try await client.call(.get, "/api/v1/destinations/nas/envelopes", token: token).json["envelopes"].array.isEmpty)
        }
    }

    @Test func anEnvelopeMustMatchAnEnrolledServersKey() async throws {
        try await withTestHub { hub, client in
            let account = try await hub.account("keys@example.com", plan: .plus)
            let created = try await client.call(.post, "/api/v1/servers", token: account.token, body: #"{"name":"web1"}"#)
            let serverID = try #require(created.json["server"]["id"].string)
            _ = try await OffsiteFixture.create(client, token: account.token, name: "nas")
            var server = try #require(try await hub.store.server(accountID: account.id, reference: serverID))
            server.keyFingerprint = "SHA256:current"
            server.publicKey = "cHVibGlj"
            server.enrolledAt = hub.clock.now()
            try await hub.store.updateServer(server)

            let stale = try await client.call(
                .put, "/api/v1/destinations/nas/envelopes/web1", token: account.token,
                body: #"{"keyID":"SHA256:old","version":1,"ciphertext":"AAEC"}"#)
            expectError(stale, .conflict, code: "conflict", field: "keyID")
            expectStatus(
                try await client.call(
                    .put, "/api/v1/destinations/nas/envelopes/web1", token: account.token,
                    body: #"{"keyID":"SHA256:current","version":1,"ciphertext":"AAEC"}"#), .ok)
        }
    }
}
