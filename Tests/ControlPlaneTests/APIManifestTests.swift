import BackupCore
import ControlPlane
import Foundation
import HTTPTypes
import HubAPI
import HummingbirdTesting
import Sealing
import Store
import Testing

/// Storing signed manifests (docs/sealing.md, "Signed manifests"): the hub keeps what the vault's
/// key signed for the job or destination it holds, and says when something changed since.
@Suite("API: signed manifests")
struct APIManifestTests {
    static func body(_ manifest: SignedManifest) throws -> String {
        String(decoding: try JSONEncoder().encode(ManifestRequest(manifest: manifest)), as: UTF8.self)
    }

    @Test("a new account key is pushed: every enrolled server is told to sync its jobs; a passphrase change is not")
    func aNewAccountKeyTellsEveryAgentToSync() async throws {
        try await withTestHub { hub, client in
            let account = try await hub.account("key@example.com")
            let world = try await AccountWorld.build(hub, client, account: account, prefix: "k")
            let agent: HTTPFields = [.authorization: "Agent \(try #require(world.agentCredential))"]
            func pending() async throws -> [(id: String, kind: String)] {
                let listed = try await client.call(.get, "/api/agent/v1/commands?wait=0", headers: agent)
                expectStatus(listed, .ok)
                return (listed.json["commands"].array ?? []).compactMap { command in
                    guard let id = command["id"].string, let kind = command["kind"].string else { return nil }
                    return (id, kind)
                }
            }
            for command in try await pending() {
                expectStatus(try await client.call(.post, "/api/agent/v1/commands/\(command.id)/ack", headers: agent), .ok)
            }
            #expect(try await pending().isEmpty)

            let key = try Vault.create(accountID: account.id, passphrase: "a long passphrase")
            let created = String(decoding: try JSONEncoder().encode(VaultRequest(vault: key.document, replace: nil)), as: UTF8.self)
            expectStatus(try await client.call(.put, "/api/v1/vault", token: account.token, body: created), .ok)
            let told = try await pending()
            #expect(told.map(\.kind) == ["syncJobs"], "the agent must learn the account key at once: \(told)")
            for command in told {
                expectStatus(try await client.call(.post, "/api/agent/v1/commands/\(command.id)/ack", headers: agent), .ok)
            }

            // The same key wrapped under another passphrase changes nothing the agents hold.
            let rewrapped = try Vault.changePassphrase(key.document, accountID: account.id, vaultKey: key.vaultKey, to: "another long passphrase")
            let replaced = String(decoding: try JSONEncoder().encode(VaultRequest(vault: rewrapped, replace: true)), as: UTF8.self)
            expectStatus(try await client.call(.put, "/api/v1/vault", token: account.token, body: replaced), .ok)
            #expect(try await pending().isEmpty)
        }
    }

    @Test func aJobsManifestIsStoredOnlyWhenItVerifiesMatchesAndIsNewer() async throws {
        try await withTestHub { hub, client in
            let account = try await APIJobTests.setUp(hub, client)
            let token = account.token
            let created = try await client.call(
                .post, "/api/v1/jobs", token: token,
                body: #"{"name":"nightly","server":"web1","kind":"full","sources":{"paths":["/srv"]},"schedule":"daily","destinations":["nas"]}"#)
            expectStatus(created, .created)
            #expect(created.json["manifestState"].string == "off", "no vault: trust mode off")
            let jobID = try #require(created.json["id"].string)
            let key = try Vault.create(accountID: account.id, passphrase: "a long passphrase")
            var job = try #require(try await hub.store.job(accountID: account.id, id: jobID))

            let early = try await client.call(
                .put, "/api/v1/jobs/nightly/manifest", token: token,
                body: try Self.body(try ManifestSignature.sign(JobManifest(job: job, version: 1), with: key.signingKey)))
            expectError(early, .conflict, code: "no_signing_key")
            let vaultBody = String(decoding: try JSONEncoder().encode(VaultRequest(vault: key.document, replace: nil)), as: UTF8.self)
            expectStatus(try await client.call(.put, "/api/v1/vault", token: token, body: vaultBody), .ok)
            #expect(try await client.call(.get, "/api/v1/jobs/nightly", token: token).json["manifestState"].string == "unsigned")

            let foreign = try ManifestSignature.sign(JobManifest(job: job, version: 2), with: try AccountSigningKey.generate())
            expectError(try await client.call(.put, "/api/v1/jobs/nightly/manifest", token: token, body: try Self.body(foreign)), .badRequest)
            var other = job
            other.sources.paths = ["/root"]
            let mismatch = try await client.call(
                .put, "/api/v1/jobs/nightly/manifest", token: token,
                body: try Self.body(try ManifestSignature.sign(JobManifest(job: other, version: 2), with: key.signingKey)))
            expectError(mismatch, .badRequest)
            #expect(mismatch.json["error"]["message"].string?.contains("sources") == true, "\(mismatch.json)")

            let good = try ManifestSignature.sign(JobManifest(job: job, version: 3), with: key.signingKey)
            let stored = try await client.call(.put, "/api/v1/jobs/nightly/manifest", token: token, body: try Self.body(good))
            expectStatus(stored, .ok)
            #expect(stored.json["manifestState"].string == "signed")
            let older = try ManifestSignature.sign(JobManifest(job: job, version: 2), with: key.signingKey)
            expectError(try await client.call(.put, "/api/v1/jobs/nightly/manifest", token: token, body: try Self.body(older)), .conflict)

            let edited = try await client.call(.patch, "/api/v1/jobs/nightly", token: token, body: #"{"sources":{"paths":["/srv","/etc"]}}"#)
            #expect(edited.json["manifestState"].string == "changed", "an edit that was not signed shows")
            job = try #require(try await hub.store.job(accountID: account.id, id: jobID))
            #expect(job.manifest == good, "the signed manifest is kept, so agents see what changed")
            let renamed = try await client.call(.patch, "/api/v1/jobs/nightly", token: token, body: #"{"name":"nightly-2"}"#)
            #expect(renamed.json["manifestState"].string == "changed")
        }
    }

    @Test func aDestinationsManifestCoversItsSettings() async throws {
        try await withTestHub { hub, client in
            let account = try await APIJobTests.setUp(hub, client)
            let token = account.token
            let key = try Vault.create(accountID: account.id, passphrase: "a long passphrase")
            let vaultBody = String(decoding: try JSONEncoder().encode(VaultRequest(vault: key.document, replace: nil)), as: UTF8.self)
            expectStatus(try await client.call(.put, "/api/v1/vault", token: token, body: vaultBody), .ok)
            let nas = try #require(try await hub.store.destination(accountID: account.id, reference: "nas"))
            #expect(try await client.call(.get, "/api/v1/destinations/nas", token: token).json["manifestState"].string == "unsigned")
            let signed = try await client.call(
                .put, "/api/v1/destinations/nas/manifest", token: token,
                body: try Self.body(try ManifestSignature.sign(DestinationManifest(destination: nas, version: 1), with: key.signingKey)))
            expectStatus(signed, .ok)
            #expect(signed.json["manifestState"].string == "signed")
            let moved = try await client.call(.patch, "/api/v1/destinations/nas", token: token, body: #"{"settings":{"path":"/srv/other"}}"#)
            expectStatus(moved, .ok)
            #expect(try await client.call(.get, "/api/v1/destinations/nas", token: token).json["manifestState"].string == "changed")
            let malformed = try await client.call(
                .put, "/api/v1/destinations/nas/manifest", token: token, body: #"{"manifest":{"body":"not base64!","signature":"AAAA"}}"#)
            expectError(malformed, .badRequest)
        }
    }
}
