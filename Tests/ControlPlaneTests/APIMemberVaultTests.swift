import BackupCore
import ControlPlane
import Foundation
import HTTPTypes
import HubAPI
import Sealing
import Store
import Testing

/// Members' own vault access through the API (docs/sealing.md, "Member wrappings"): a member stores their key, the
/// owner seals the vault key to it, the member opens the vault with their own passphrase; removal deletes it.
@Suite("API: members' vault keys and wrappings")
struct APIMemberVaultTests {
    static func json<T: Encodable>(_ value: T) throws -> String { String(decoding: try JSONEncoder().encode(value), as: UTF8.self) }

    @Test func aMemberOpensTheVaultWithTheirOwnPassphrase() async throws {
        try await withTestHub { hub, client in
            let owner = try await hub.account("owner@vault.example", plan: .plus)
            let created = try Vault.create(accountID: owner.id, passphrase: "the shared vault passphrase")
            expectStatus(
                try await client.call(.put, "/api/v1/vault", token: owner.token, body: try Self.json(VaultRequest(vault: created.document))), .ok)
            let admin = try await APIRoleTests.member(hub, client, owner: owner, email: "admin@vault.example", role: .admin)
            let viewer = try await APIRoleTests.member(hub, client, owner: owner, email: "viewer@vault.example", role: .viewer)

            expectError(try await client.call(.get, "/api/v1/vault/member-key", token: admin.token), .notFound, code: "not_found")
            // A key for someone else, or a malformed one, is refused with the field named.
            let (key, _) = try MemberVault.createKey(accountID: owner.id, memberID: admin.id, passphrase: "the admin's own passphrase")
            var foreign = key
            foreign.memberID = viewer.id
            expectError(
                try await client.call(.put, "/api/v1/vault/member-key", token: admin.token, body: try Self.json(MemberKeyRequest(key: foreign))),
                .badRequest, field: "key.memberID")
            var short = key
            short.publicKey = "AAAA"
            expectError(
                try await client.call(.put, "/api/v1/vault/member-key", token: admin.token, body: try Self.json(MemberKeyRequest(key: short))),
                .badRequest, field: "key.publicKey")
            expectError(
                try await client.call(.put, "/api/v1/vault/member-key", token: viewer.token, body: try Self.json(MemberKeyRequest(key: key))),
                .forbidden, code: "forbidden_role")
            let stored = try await client.call(.put, "/api/v1/vault/member-key", token: admin.token, body: try Self.json(MemberKeyRequest(key: key)))
            expectStatus(stored, .ok)
            #expect(stored.json["keyID"].string == key.keyID && stored.json["wrapped"].bool == false)

            // The owner lists the keys and seals the vault key to the admin's (after comparing the fingerprint).
            let list = try await client.call(.get, "/api/v1/vault/members", token: owner.token)
            expectStatus(list, .ok)
            #expect(list.json["members"][0]["keyID"].string == key.keyID && list.json["members"][0]["email"].string == "admin@vault.example")
            #expect(list.json["members"][0]["wrapping"].string == nil)
            let vaultKey = try Vault.unlock(created.document, accountID: owner.id, passphrase: "the shared vault passphrase")
            let wrapping = String(decoding: try MemberVault.wrap(vaultKey: vaultKey, accountID: owner.id, for: key), as: UTF8.self)
            expectError(
                try await client.call(
                    .put, "/api/v1/vault/members/\(admin.id)/wrapping", token: owner.token,
                    body: try Self.json(MemberWrappingRequest(keyID: "0000:0000", wrapping: wrapping))),
                .badRequest, field: "wrapping")
            expectError(
                try await client.call(
                    .put, "/api/v1/vault/members/\(viewer.id)/wrapping", token: owner.token,
                    body: try Self.json(MemberWrappingRequest(keyID: key.keyID, wrapping: wrapping))),
                .conflict)
            let granted = try await client.call(
                .put, "/api/v1/vault/members/admin@vault.example/wrapping", token: owner.token,
                body: try Self.json(MemberWrappingRequest(keyID: key.keyID, wrapping: wrapping)))
            expectStatus(granted, .ok)
            #expect(granted.json["wrapped"].bool == true && granted.json["wrapping"].string == nil)

            // The admin reads the vault with their own key and wrapping, and opens it with their own passphrase.
            let vault = try await client.call(.get, "/api/v1/vault", token: admin.token)
            expectStatus(vault, .ok)
            let view = try HubJSON.decoder().decode(VaultView.self, from: Data(vault.text.utf8))
            #expect(view.vault == created.document)
            let member = try #require(view.member)
            #expect(member.memberID == admin.id && member.wrapping == wrapping)
            let privateKey = try MemberVault.unlockKey(member.key, accountID: owner.id, memberID: admin.id, passphrase: "the admin's own passphrase")
            #expect(
                try MemberVault.unwrap(Data(try #require(member.wrapping).utf8), accountID: owner.id, memberID: admin.id, privateKey: privateKey)
                    == vaultKey)
            // A client that reads a plain vault document still can.
            #expect(try HubJSON.decoder().decode(VaultDocument.self, from: Data(vault.text.utf8)) == created.document)
            #expect(try await client.call(.get, "/api/v1/vault", token: owner.token).json["member"].isNull)

            // Another account's owner sees none of it, and cannot grant or revoke (404).
            let other = try await hub.account("other@vault.example", plan: .plus)
            #expect(try await client.call(.get, "/api/v1/vault/members", token: other.token).json["members"].array.isEmpty)
            expectError(
                try await client.call(
                    .put, "/api/v1/vault/members/\(admin.id)/wrapping", token: other.token,
                    body: try Self.json(MemberWrappingRequest(keyID: key.keyID, wrapping: wrapping))),
                .notFound)
            expectError(try await client.call(.delete, "/api/v1/vault/members/\(admin.id)/wrapping", token: other.token), .notFound)

            // Revoking removes the wrapping; removing the member deletes key and wrapping.
            expectStatus(try await client.call(.delete, "/api/v1/vault/members/\(admin.id)/wrapping", token: owner.token), .ok)
            expectError(try await client.call(.delete, "/api/v1/vault/members/\(admin.id)/wrapping", token: owner.token), .notFound)
            #expect(try await client.call(.get, "/api/v1/vault/member-key", token: admin.token).json["wrapped"].bool == false)
            expectStatus(
                try await client.call(
                    .put, "/api/v1/vault/members/\(admin.id)/wrapping", token: owner.token,
                    body: try Self.json(MemberWrappingRequest(keyID: key.keyID, wrapping: wrapping))), .ok)
            expectStatus(try await client.call(.delete, "/api/v1/members/\(admin.id)", token: owner.token), .ok)
            #expect(try await hub.store.memberVaultRecord(accountID: owner.id, memberID: admin.id) == nil)
            #expect(try await client.call(.get, "/api/v1/vault/members", token: owner.token).json["members"].array.isEmpty)
            // The vault document (and its recovery key) is unchanged.
            #expect(try await hub.store.vault(accountID: owner.id) == created.document)
        }
    }
}
