import BackupCore
import Foundation
import HubAPI
import Store

/// An account's members as use cases: list, invite (a one-time link), change a role, remove, and
/// accept an invitation. Only members who may manage members (owners) change anything; the last
/// owner can be neither removed nor demoted; removing a member ends their sessions and tokens at once.
struct MemberService {
    let hub: HubServices

    func list(accountID: String) async throws -> MemberList {
        let members = try await hub.store.members(accountID: accountID).map(MemberView.init)
        var invitations: [InvitationView] = []
        if Access.allows(.manageMembers) { invitations = try await hub.store.invitations(accountID: accountID).map(InvitationView.init) }
        return MemberList(members: members, invitations: invitations)
    }

    /// Invites `email` with `role`: answers the one-time link (`/backups/join?invitation=…`) that lets them set a password.
    func invite(_ body: InvitationRequest, accountID: String, invitedBy: String) async throws -> InvitationCreated {
        try Access.require(.manageMembers)
        let email = try User.validatedEmail(body.email)
        if try await hub.store.user(email: email) != nil {
            throw DomainError.conflict("email", "\(email) is already a member of an account on this hub (an email belongs to one member)")
        }
        let secret = Secrets.make(prefix: Secrets.invitationPrefix)
        let now = hub.clock.now()
        let invitation = Invitation(
            id: ResourceID.make(.invitation), accountID: accountID, email: email, role: body.role, invitedBy: invitedBy, createdAt: now,
            expiresAt: now.addingTimeInterval(Invitation.lifetime))
        try await hub.store.createInvitation(invitation, hash: Secrets.hash(secret))
        return InvitationCreated(invitation: InvitationView(invitation), url: Self.link(hubURL: hub.configuration.effectivePublicURL, secret: secret))
    }

    static func link(hubURL: String, secret: String) -> String {
        let base = hubURL.hasSuffix("/") ? String(hubURL.dropLast()) : hubURL
        return "\(base)/backups/join?invitation=\(secret)"
    }

    func withdraw(invitation id: String, accountID: String) async throws {
        try Access.require(.manageMembers)
        guard try await hub.store.deleteInvitation(accountID: accountID, id: id) else { throw DomainError.notFound("invitation", id) }
    }

    func setRole(_ reference: String, role: MemberRole, accountID: String) async throws -> MemberView {
        try Access.require(.manageMembers)
        let member = try await self.member(reference, accountID: accountID)
        guard let changed = try await hub.store.setMemberRole(accountID: accountID, userID: member.id, role: role) else {
            throw DomainError.notFound("member", reference)
        }
        return MemberView(changed)
    }

    /// Removes the member; their browser sessions end and their API tokens are revoked in the same transaction.
    func remove(_ reference: String, accountID: String) async throws {
        try Access.require(.manageMembers)
        let member = try await self.member(reference, accountID: accountID)
        guard try await hub.store.removeMember(accountID: accountID, userID: member.id, at: hub.clock.now()) else {
            throw DomainError.notFound("member", reference)
        }
    }

    /// A member of the account by id or email.
    func member(_ reference: String, accountID: String) async throws -> User {
        let clean = reference.trimmingSpaces
        let found = try await hub.store.members(accountID: accountID).first { $0.id == clean || $0.email == clean.lowercased() }
        guard let found else { throw DomainError.notFound("member", reference) }
        return found
    }

    /// The invitation a link names, while it can be accepted.
    func invitation(secret: String) async throws -> Invitation? {
        guard secret.hasPrefix(Secrets.invitationPrefix + "_") else { return nil }
        return try await hub.store.invitation(hash: Secrets.hash(secret), now: hub.clock.now())
    }

    /// Accepts an invitation with the invitee's new password: the new member.
    func accept(secret: String, password: String) async throws -> User {
        try User.validatePassword(password)
        guard try await invitation(secret: secret) != nil else {
            throw DomainError.invalid("invitation", "this invitation link was used, has expired or was withdrawn; ask for a new one")
        }
        let hash = try await hub.passwords.hash(password, cost: hub.configuration.bcryptCost)
        let now = hub.clock.now()
        let user = User(id: ResourceID.make(.user), accountID: "", email: "", passwordHash: hash, createdAt: now)
        guard let member = try await hub.store.acceptInvitation(hash: Secrets.hash(secret), user: user, now: now) else {
            throw DomainError.invalid("invitation", "this invitation link was used, has expired or was withdrawn; ask for a new one")
        }
        return member
    }

    /// The caller's own signed-in browsers (every member may see and end theirs).
    func sessions(accountID: String, memberID: String?, currentSession: String?) async throws -> SessionList {
        try Access.require(.ownCredentials)
        let sessions = try await hub.store.sessions(accountID: accountID, userID: memberID, now: hub.clock.now())
        return SessionList(
            sessions: sessions.map {
                SessionView(id: $0.id, memberID: $0.userID, createdAt: $0.createdAt, expiresAt: $0.expiresAt, current: $0.id == currentSession)
            })
    }

    /// Ends one of the caller's sessions.
    func endSession(_ id: String, accountID: String, memberID: String?) async throws {
        try Access.require(.ownCredentials)
        guard try await hub.store.deleteSession(accountID: accountID, id: id, userID: memberID) else { throw DomainError.notFound("session", id) }
    }
}
