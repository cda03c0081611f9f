import BackupCore
import ControlPlane
import Foundation
import HTTPTypes
import HubAPI
import HummingbirdTesting
import Sealing
import Store
import Testing

/// Certifying a server's key (docs/sealing.md, "Server certificates"): the hub stores what the
/// vault's signing key made, refuses what does not verify, and forgets it when the key changes.
@Suite("API: server certificates")
struct APIServerCertificateTests {
    @Test func aCertificateIsStoredOnlyForTheCurrentKeyAndRevoked() async throws {
        try await withTestHub { hub, client in
            let account = try await hub.account("certify@example.com", plan: .plus)
            let token = account.token
            let created = try await client.call(.post, "/api/v1/servers", token: token, body: #"{"name":"web1"}"#)
            let serverID = try #require(created.json["server"]["id"].string)
            let body = { (certificate: String, fingerprint: String) in #"{"certificate":"\#(certificate)","keyFingerprint":"\#(fingerprint)"}"# }

            let early = try await client.call(.put, "/api/v1/servers/web1/certificate", token: token, body: body("AAAA", "0000"))
            expectError(early, .conflict, code: "not_enrolled")

            let serverKey = Data((0..<32).map { _ in UInt8.random(in: 0...255) })
            let fingerprint = KeyFingerprint.of(serverKey)
            var server = try #require(try await hub.store.server(accountID: account.id, reference: serverID))
            server.publicKey = serverKey.base64EncodedString()
            server.keyFingerprint = fingerprint
            try await hub.store.updateServer(server)
            let vault = try Vault.create(accountID: account.id, passphrase: "a long passphrase")
            let certificate = try ServerCertificate.issue(
                accountID: account.id, serverID: serverID, publicKey: serverKey, signingKey: vault.signingKey)

            let noVault = try await client.call(.put, "/api/v1/servers/web1/certificate", token: token, body: body(certificate, fingerprint))
            expectError(noVault, .conflict, code: "no_signing_key")
            let vaultBody = String(decoding: try JSONEncoder().encode(VaultRequest(vault: vault.document, replace: nil)), as: UTF8.self)
            expectStatus(try await client.call(.put, "/api/v1/vault", token: token, body: vaultBody), .ok)

            let staleKey = try await client.call(.put, "/api/v1/servers/web1/certificate", token: token, body: body(certificate, "ffff:0000"))
            expectError(staleKey, .conflict, code: "conflict")
            let otherServer = try ServerCertificate.issue(
                accountID: account.id, serverID: "srv_other", publicKey: serverKey, signingKey: vault.signingKey)
            let forged = try await client.call(.put, "/api/v1/servers/web1/certificate", token: token, body: body(otherServer, fingerprint))
            expectError(forged, .badRequest, code: "invalid")
            #expect(try await client.call(.get, "/api/v1/servers/web1", token: token).json["certificate"].string == nil, "nothing stored")

            let certified = try await client.call(.put, "/api/v1/servers/web1/certificate", token: token, body: body(certificate, fingerprint))
            expectStatus(certified, .ok)
            #expect(certified.json["certificate"].string == certificate)
            #expect(try await client.call(.get, "/api/v1/servers/web1", token: token).json["certificate"].string == certificate)

            let revoked = try await client.call(.delete, "/api/v1/servers/web1/certificate", token: token)
            expectStatus(revoked, .ok)
            #expect(revoked.json["server"]["certificate"].string == nil)
            #expect(revoked.json["exposedDestinations"].array.isEmpty)
            #expect(try await client.call(.get, "/api/v1/servers/web1", token: token).json["certificate"].string == nil)
        }
    }

    @Test func enrollingWithANewKeyDropsTheCertificateAndTheSameKeyKeepsIt() async throws {
        try await withTestHub { hub, client in
            let account = try await hub.account("reenroll@example.com")
            let created = try await client.call(.post, "/api/v1/servers", token: account.token, body: #"{"name":"web1"}"#)
            let serverID = try #require(created.json["server"]["id"].string)
            let secret = try #require(created.json["enrollment"]["secret"].string)
            let key = Data(repeating: 7, count: 32).base64EncodedString()
            let now = hub.clock.now()
            _ = try await hub.store.enroll(
                tokenHash: Secrets.hash(secret), publicKey: key, keyFingerprint: "k1", agentVersion: "1", credentialHash: "c1", now: now)
            #expect(try await hub.store.certifyServer(accountID: account.id, id: serverID, publicKey: key, certificate: "cert"))
            #expect(try await hub.store.certifyServer(accountID: account.id, id: serverID, publicKey: "another", certificate: "x") == false)

            let again = Secrets.make(prefix: Secrets.enrollmentPrefix)
            let same = EnrollmentToken(
                id: ResourceID.make(.enrollmentToken), accountID: account.id, serverID: serverID, createdAt: now, expiresAt: now + 600)
            try await hub.store.createEnrollmentToken(same, hash: Secrets.hash(again))
            _ = try await hub.store.enroll(
                tokenHash: Secrets.hash(again), publicKey: key, keyFingerprint: "k1", agentVersion: "1", credentialHash: "c2", now: now)
            #expect(
                try await hub.store.server(accountID: account.id, reference: serverID)?.certificate == "cert", "the same key keeps its certificate")

            let third = Secrets.make(prefix: Secrets.enrollmentPrefix)
            let other = EnrollmentToken(
                id: ResourceID.make(.enrollmentToken), accountID: account.id, serverID: serverID, createdAt: now, expiresAt: now + 600)
            try await hub.store.createEnrollmentToken(other, hash: Secrets.hash(third))
            let newKey = Data(repeating: 8, count: 32).base64EncodedString()
            _ = try await hub.store.enroll(
                tokenHash: Secrets.hash(third), publicKey: newKey, keyFingerprint: "k2", agentVersion: "1", credentialHash: "c3", now: now)
            #expect(try await hub.store.server(accountID: account.id, reference: serverID)?.certificate == nil, "a new key is uncertified")
        }
    }
}
