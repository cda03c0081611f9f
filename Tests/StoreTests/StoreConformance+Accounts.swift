import BackupCore
import Foundation
import SQLKit
import Store
import Testing

@Suite("Store conformance: accounts, users, API tokens, sessions")
struct AccountConformanceTests {
    @Test(arguments: StoreKind.tested)
    func accountAndUserRoundTrip(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let seed = StoreSeed(store: store)
            let account = Account(id: ResourceID.make(.account), name: "Acme", plan: .free, createdAt: seed.now)
            let user = User(
                id: ResourceID.make(.user), accountID: account.id, email: "ops@acme.example", passwordHash: "$2b$04$hash", createdAt: seed.now)
            try await store.createAccount(account, user: user)

            #expect(try await store.account(id: account.id) == account)
            #expect(try await store.user(email: "ops@acme.example") == user)
            #expect(try await store.user(email: "nobody@acme.example") == nil)
            #expect(try await store.account(id: ResourceID.make(.account)) == nil)

            #expect(try await store.setPlan(accountID: account.id, plan: .plus))
            #expect(try await store.account(id: account.id)?.plan == .plus)
            #expect(try await store.setPlan(accountID: ResourceID.make(.account), plan: .plus) == false)
        }
    }

    @Test(arguments: StoreKind.tested)
    func duplicateEmailIsAConflict(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let seed = StoreSeed(store: store)
            let first = Account(id: ResourceID.make(.account), name: "First", plan: .free, createdAt: seed.now)
            try await store.createAccount(
                first, user: User(id: ResourceID.make(.user), accountID: first.id, email: "dup@example.com", passwordHash: "x", createdAt: seed.now))

            let second = Account(id: ResourceID.make(.account), name: "Second", plan: .free, createdAt: seed.now)
            await expectDomainError(.conflict, field: "email") {
                try await store.createAccount(
                    second,
                    user: User(id: ResourceID.make(.user), accountID: second.id, email: "dup@example.com", passwordHash: "y", createdAt: seed.now))
            }
            // Refused as a whole: the second account was not created either.
            #expect(try await store.account(id: second.id) == nil)
            #expect(try await store.user(email: "dup@example.com")?.accountID == first.id)
        }
    }

    @Test(arguments: StoreKind.tested)
    func apiTokensAreFoundByHashAndRevoked(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let seed = StoreSeed(store: store)
            let account = try await seed.account("tokens")
            let first = APIToken(
                id: ResourceID.make(.apiToken), accountID: account.id, name: "laptop", prefix: "mzp_abcdef", scope: .admin, createdAt: seed.now)
            let second = APIToken(
                id: ResourceID.make(.apiToken), accountID: account.id, name: "ci", prefix: "mzp_ghijkl", scope: .metrics, createdAt: StoreSeed.at(1),
                expiresAt: StoreSeed.at(86_400))
            try await store.createAPIToken(first, hash: "hash-one")
            try await store.createAPIToken(second, hash: "hash-two")

            #expect(try await store.apiToken(hash: "hash-one") == first)
            #expect(try await store.apiToken(hash: "hash-two") == second)
            #expect(try await store.apiToken(hash: "hash-unknown") == nil)
            #expect(try await store.apiTokens(accountID: account.id).map(\.id) == [first.id, second.id])

            try await store.touchAPIToken(id: first.id, at: StoreSeed.at(30))
            #expect(try await store.apiToken(hash: "hash-one")?.lastUsedAt == StoreSeed.at(30))

            #expect(try await store.revokeAPIToken(accountID: account.id, id: first.id, at: StoreSeed.at(60)))
            #expect(try await store.apiToken(hash: "hash-one") == nil, "a revoked token must not authenticate")
            #expect(
                try await store.revokeAPIToken(accountID: account.id, id: first.id, at: StoreSeed.at(90)) == false, "revoking twice finds nothing")
            let listed = try await store.apiTokens(accountID: account.id)
            #expect(listed.first { $0.id == first.id }?.revokedAt == StoreSeed.at(60))
            #expect(listed.first { $0.id == second.id }?.revokedAt == nil)
            #expect(try await store.apiToken(hash: "hash-two") == second)
        }
    }

    /// Tokens stored before scopes existed (rows without scope or expiry) read as admin tokens that never expire.
    @Test(arguments: StoreKind.tested)
    func tokensFromBeforeScopesAreAdminWithoutExpiry(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let seed = StoreSeed(store: store)
            let account = try await seed.account("legacy")
            try await store.backend.withDatabase { db in
                try await db.raw(
                    """
                    INSERT INTO api_tokens (id, account_id, name, prefix, token_hash, created_at)
                    VALUES ('tok_legacy', \(bind: account.id), 'deploy', 'mzp_legacy', 'hash-legacy', 0)
                    """
                ).run()
            }
            let token = try #require(try await store.apiToken(hash: "hash-legacy"))
            #expect(token.scope == .admin)
            #expect(token.expiresAt == nil)
            #expect(token.name == "deploy")
        }
    }

    @Test(arguments: StoreKind.tested)
    func sessionsExpire(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let seed = StoreSeed(store: store)
            let account = try await seed.account("sessions")
            let user = try #require(try await store.user(email: "sessions-\(account.id.suffix(6))@example.com"))
            let session = WebSession(
                id: ResourceID.make(.session), accountID: account.id, userID: user.id, createdAt: seed.now, expiresAt: StoreSeed.at(3600))
            try await store.createSession(session, hash: "session-hash")

            #expect(try await store.session(hash: "session-hash", now: StoreSeed.at(10)) == session)
            #expect(try await store.session(hash: "session-hash", now: StoreSeed.at(3599.999)) == session)
            #expect(try await store.session(hash: "session-hash", now: StoreSeed.at(3600)) == nil, "a session is over at its expiry time")
            #expect(try await store.session(hash: "session-hash", now: StoreSeed.at(7200)) == nil)
            #expect(try await store.session(hash: "other-hash", now: StoreSeed.at(10)) == nil)

            try await store.deleteSession(hash: "session-hash")
            #expect(try await store.session(hash: "session-hash", now: StoreSeed.at(10)) == nil, "a deleted session is gone")
        }
    }

    @Test(arguments: StoreKind.tested)
    func creatingASessionPurgesExpiredOnes(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let seed = StoreSeed(store: store)
            let account = try await seed.account("purge")
            let user = try #require(try await store.user(email: "purge-\(account.id.suffix(6))@example.com"))
            let old = WebSession(
                id: ResourceID.make(.session), accountID: account.id, userID: user.id, createdAt: seed.now, expiresAt: StoreSeed.at(60))
            try await store.createSession(old, hash: "old")
            let new = WebSession(
                id: ResourceID.make(.session), accountID: account.id, userID: user.id, createdAt: StoreSeed.at(120), expiresAt: StoreSeed.at(4000))
            try await store.createSession(new, hash: "new")
            // Asking with a time before the old session's expiry shows whether its row still exists.
            #expect(try await store.session(hash: "old", now: StoreSeed.at(1)) == nil)
            #expect(try await store.session(hash: "new", now: StoreSeed.at(121)) == new)
        }
    }
}
