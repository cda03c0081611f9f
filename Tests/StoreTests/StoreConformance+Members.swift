import BackupCore
import Foundation
import SQLKit
import Store
import Testing

@Suite("Store conformance: members, invitations, two-factor")
struct MemberConformanceTests {
    @Test(arguments: StoreKind.tested)
    func membersRolesAndRemoval(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let seed = StoreSeed(store: store)
            let account = Account(id: ResourceID.make(.account), name: "Team", plan: .free, createdAt: seed.now)
            let owner = User(id: ResourceID.make(.user), accountID: account.id, email: "owner@team.example", passwordHash: "x", createdAt: seed.now)
            try await store.createAccount(account, user: owner)
            #expect(try await store.user(id: owner.id)?.role == .owner)
            await expectDomainError(.conflict, field: "role") {
                _ = try await store.setMemberRole(accountID: account.id, userID: owner.id, role: .admin)
            }
            await expectDomainError(.conflict, field: "role") {
                _ = try await store.removeMember(accountID: account.id, userID: owner.id, at: seed.now)
            }

            // An invitation is accepted once, with its own email and role.
            let invitation = Invitation(
                id: ResourceID.make(.invitation), accountID: account.id, email: "ops@team.example", role: .operator, invitedBy: owner.email,
                createdAt: seed.now, expiresAt: seed.now.addingTimeInterval(Invitation.lifetime))
            try await store.createInvitation(invitation, hash: "invite-hash")
            #expect(try await store.invitations(accountID: account.id).map(\.id) == [invitation.id])
            #expect(try await store.invitation(hash: "invite-hash", now: seed.now.addingTimeInterval(Invitation.lifetime + 1)) == nil)
            let blank = User(id: ResourceID.make(.user), accountID: "", email: "", passwordHash: "y", createdAt: seed.now.addingTimeInterval(1))
            let member = try #require(try await store.acceptInvitation(hash: "invite-hash", user: blank, now: seed.now))
            #expect(member.accountID == account.id && member.email == "ops@team.example" && member.role == .operator)
            #expect(try await store.acceptInvitation(hash: "invite-hash", user: blank, now: seed.now) == nil)
            #expect(try await store.invitations(accountID: account.id).isEmpty)
            #expect(try await store.members(accountID: account.id).map(\.email) == ["owner@team.example", "ops@team.example"])

            // A second owner lets the first step down; removal ends sessions and revokes tokens in one go.
            #expect(try await store.setMemberRole(accountID: account.id, userID: member.id, role: .owner)?.role == .owner)
            #expect(try await store.setMemberRole(accountID: account.id, userID: owner.id, role: .viewer)?.role == .viewer)
            #expect(try await store.setMemberRole(accountID: ResourceID.make(.account), userID: owner.id, role: .owner) == nil)
            let session = WebSession(
                id: ResourceID.make(.session), accountID: account.id, userID: owner.id, createdAt: seed.now,
                expiresAt: seed.now.addingTimeInterval(3600))
            try await store.createSession(session, hash: "session-hash")
            #expect(try await store.sessions(accountID: account.id, userID: owner.id, now: seed.now).map(\.id) == [session.id])
            let token = APIToken(
                id: ResourceID.make(.apiToken), accountID: account.id, name: "t", prefix: "mzp_x", scope: .admin, createdAt: seed.now,
                userID: owner.id)
            try await store.createAPIToken(token, hash: "token-hash")
            #expect(try await store.apiToken(hash: "token-hash")?.userID == owner.id)
            #expect(try await store.removeMember(accountID: account.id, userID: owner.id, at: seed.now))
            #expect(try await store.session(hash: "session-hash", now: seed.now) == nil)
            #expect(try await store.apiToken(hash: "token-hash") == nil)
            #expect(try await store.user(id: owner.id) == nil)
            #expect(try await store.removeMember(accountID: account.id, userID: owner.id, at: seed.now) == false)
        }
    }

    @Test(arguments: StoreKind.tested)
    func twoFactorStepsAndRecoveryCodesAreUsedOnce(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let seed = StoreSeed(store: store)
            let account = Account(id: ResourceID.make(.account), name: "Team", plan: .free, createdAt: seed.now)
            let user = User(id: ResourceID.make(.user), accountID: account.id, email: "two@team.example", passwordHash: "x", createdAt: seed.now)
            try await store.createAccount(account, user: user)
            #expect(try await store.twoFactor(userID: user.id) == TwoFactorState())
            try await store.setPendingTwoFactor(userID: user.id, secret: "PENDING")
            #expect(try await store.twoFactor(userID: user.id).pending == "PENDING")
            try await store.setTwoFactor(userID: user.id, secret: "SECRET", step: 56_000_000_000, recoveryHashes: ["a", "b"])
            #expect(
                try await store.twoFactor(userID: user.id) == TwoFactorState(secret: "SECRET", lastStep: 56_000_000_000, recoveryHashes: ["a", "b"]))
            #expect(try await store.user(id: user.id)?.twoFactor == true)
            #expect(try await store.useTwoFactorStep(userID: user.id, step: 56_000_000_000) == false)
            #expect(try await store.useTwoFactorStep(userID: user.id, step: 56_000_000_001))
            #expect(try await store.useRecoveryCode(userID: user.id, hash: "b"))
            #expect(try await store.useRecoveryCode(userID: user.id, hash: "b") == false)
            #expect(try await store.twoFactor(userID: user.id).recoveryHashes == ["a"])
            #expect(try await store.twoFactorRequired(accountID: account.id) == false)
            try await store.setTwoFactorRequired(accountID: account.id, required: true)
            #expect(try await store.twoFactorRequired(accountID: account.id))
            try await store.setTwoFactor(userID: user.id, secret: nil, step: nil, recoveryHashes: [])
            #expect(try await store.twoFactor(userID: user.id) == TwoFactorState())
            #expect(try await store.user(id: user.id)?.twoFactor == false)
        }
    }
}
