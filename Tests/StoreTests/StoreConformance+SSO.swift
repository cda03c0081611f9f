import BackupCore
import Foundation
import Store
import Testing

@Suite("Store conformance: single sign-on settings")
struct SSOConformanceTests {
    @Test(arguments: StoreKind.tested)
    func settingsDomainsAndMembersWhoJoin(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let seed = StoreSeed(store: store)
            let alpha = Account(id: ResourceID.make(.account), name: "Alpha", plan: .free, createdAt: seed.now)
            let bravo = Account(id: ResourceID.make(.account), name: "Bravo", plan: .free, createdAt: seed.now)
            try await store.createAccount(alpha, user: nil)
            try await store.createAccount(bravo, user: nil)
            #expect(try await store.ssoSettings(accountID: alpha.id) == nil)
            var settings = SSOSettings(
                accountID: alpha.id, issuer: "https://id.alpha.example", clientID: "hub", clientSecret: "the-secret", defaultRole: .operator,
                allowJoin: true, domains: ["alpha.example", "alpha.test"], updatedAt: seed.now)
            try await store.putSSOSettings(settings)
            #expect(try await store.ssoSettings(accountID: alpha.id) == settings)
            #expect(try await store.ssoSettings(domain: "ALPHA.test")?.accountID == alpha.id)
            #expect(try await store.ssoSettings(domain: "bravo.example") == nil)
            // A domain finds one account only.
            await expectDomainError(.conflict, field: "domains") {
                try await store.putSSOSettings(
                    SSOSettings(
                        accountID: bravo.id, issuer: "https://id.bravo.example", clientID: "hub", clientSecret: nil, defaultRole: .viewer,
                        allowJoin: false, domains: ["alpha.test"], updatedAt: seed.now))
            }
            // Replacing keeps one row per account.
            settings.clientSecret = nil
            settings.domains = []
            try await store.putSSOSettings(settings)
            #expect(try await store.ssoSettings(accountID: alpha.id) == settings)
            #expect(try await store.ssoSettings(domain: "alpha.test") == nil)

            let joined = User(
                id: ResourceID.make(.user), accountID: alpha.id, email: "new@alpha.example", passwordHash: "!", createdAt: seed.now, role: .operator)
            try await store.addMember(joined)
            #expect(try await store.user(email: "new@alpha.example")?.role == .operator)
            await expectDomainError(.conflict, field: "email") {
                try await store.addMember(
                    User(id: ResourceID.make(.user), accountID: bravo.id, email: "new@alpha.example", passwordHash: "!", createdAt: seed.now))
            }
            #expect(try await store.deleteSSOSettings(accountID: alpha.id))
            #expect(try await store.deleteSSOSettings(accountID: alpha.id) == false)
            #expect(try await store.ssoSettings(accountID: alpha.id) == nil)
        }
    }
}
