import BackupCore
import Foundation
import Store
import Testing

@Suite("Store conformance: members' vault keys and wrappings")
struct MemberVaultConformanceTests {
    @Test(arguments: StoreKind.tested)
    func keysWrappingsAndRemoval(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let seed = StoreSeed(store: store)
            let account = Account(id: ResourceID.make(.account), name: "Team", plan: .free, createdAt: seed.now)
            let owner = User(id: ResourceID.make(.user), accountID: account.id, email: "owner@vault.example", passwordHash: "x", createdAt: seed.now)
            try await store.createAccount(account, user: owner)
            let admin = User(
                id: ResourceID.make(.user), accountID: account.id, email: "admin@vault.example", passwordHash: "!", createdAt: seed.now, role: .admin)
            try await store.addMember(admin)
            let other = Account(id: ResourceID.make(.account), name: "Other", plan: .free, createdAt: seed.now)
            try await store.createAccount(other, user: nil)

            #expect(try await store.memberVaultRecords(accountID: account.id).isEmpty)
            // Another account's member is refused.
            #expect(try await store.putMemberVaultKey(accountID: other.id, memberID: admin.id, key: "{}", keyID: "k1", now: seed.now) == false)
            #expect(try await store.putMemberVaultKey(accountID: account.id, memberID: admin.id, key: "{\"k\":1}", keyID: "k1", now: seed.now))
            #expect(try await store.memberVaultRecord(accountID: other.id, memberID: admin.id) == nil)
            #expect(
                try await store.memberVaultRecord(accountID: account.id, memberID: admin.id)
                    == MemberVaultRecord(accountID: account.id, memberID: admin.id, key: "{\"k\":1}", keyID: "k1", wrapping: nil, updatedAt: seed.now)
            )

            // A wrapping is for the key it names only.
            #expect(
                try await store.setMemberVaultWrapping(accountID: account.id, memberID: admin.id, keyID: "k0", wrapping: "1.k0.a.b", now: seed.now)
                    == false)
            #expect(
                try await store.setMemberVaultWrapping(accountID: other.id, memberID: admin.id, keyID: "k1", wrapping: "1.k1.a.b", now: seed.now)
                    == false)
            #expect(
                try await store.setMemberVaultWrapping(accountID: account.id, memberID: admin.id, keyID: "k1", wrapping: "1.k1.a.b", now: seed.now))
            #expect(try await store.memberVaultRecord(accountID: account.id, memberID: admin.id)?.wrapping == "1.k1.a.b")
            // The same key boxed again (a passphrase change) keeps the wrapping; a new key drops it.
            #expect(try await store.putMemberVaultKey(accountID: account.id, memberID: admin.id, key: "{\"k\":2}", keyID: "k1", now: seed.now))
            #expect(try await store.memberVaultRecord(accountID: account.id, memberID: admin.id)?.wrapping == "1.k1.a.b")
            #expect(try await store.putMemberVaultKey(accountID: account.id, memberID: admin.id, key: "{\"k\":3}", keyID: "k2", now: seed.now))
            #expect(try await store.memberVaultRecord(accountID: account.id, memberID: admin.id)?.wrapping == nil)
            #expect(
                try await store.setMemberVaultWrapping(accountID: account.id, memberID: admin.id, keyID: "k2", wrapping: "1.k2.a.b", now: seed.now))
            #expect(try await store.setMemberVaultWrapping(accountID: account.id, memberID: admin.id, keyID: "k2", wrapping: nil, now: seed.now))
            #expect(try await store.memberVaultRecord(accountID: account.id, memberID: admin.id)?.wrapping == nil)
            #expect(
                try await store.setMemberVaultWrapping(accountID: account.id, memberID: admin.id, keyID: "k2", wrapping: "1.k2.c.d", now: seed.now))
            #expect(try await store.putMemberVaultKey(accountID: account.id, memberID: owner.id, key: "{}", keyID: "k9", now: seed.now))
            #expect(Set(try await store.memberVaultRecords(accountID: account.id).map(\.memberID)) == [owner.id, admin.id])
            #expect(try await store.memberVaultRecords(accountID: other.id).isEmpty)

            // Removing the member deletes their key and wrapping.
            #expect(try await store.removeMember(accountID: account.id, userID: admin.id, at: seed.now))
            #expect(try await store.memberVaultRecord(accountID: account.id, memberID: admin.id) == nil)
            #expect(try await store.memberVaultRecords(accountID: account.id).map(\.memberID) == [owner.id])
        }
    }
}
