import BackupCore
import Foundation

/// One member of the account: who, with which role, since when.
public struct MemberView: Codable, Sendable, Equatable {
    public let id: String
    public let email: String
    public let role: MemberRole
    public let createdAt: Date
    public init(id: String, email: String, role: MemberRole, createdAt: Date) {
        self.id = id
        self.email = email
        self.role = role
        self.createdAt = createdAt
    }
    public init(_ user: User) { self.init(id: user.id, email: user.email, role: user.role, createdAt: user.createdAt) }
}

/// An invitation not yet accepted (its link is shown only when it is made).
public struct InvitationView: Codable, Sendable, Equatable {
    public let id: String
    public let email: String
    public let role: MemberRole
    public let invitedBy: String
    public let createdAt: Date
    public let expiresAt: Date
    public init(_ invitation: Invitation) {
        self.id = invitation.id
        self.email = invitation.email
        self.role = invitation.role
        self.invitedBy = invitation.invitedBy
        self.createdAt = invitation.createdAt
        self.expiresAt = invitation.expiresAt
    }
}

/// `GET /api/v1/members`: the account's members, oldest first, and the invitations waiting.
public struct MemberList: Codable, Sendable {
    public let members: [MemberView]
    public let invitations: [InvitationView]
    public init(members: [MemberView], invitations: [InvitationView]) {
        self.members = members
        self.invitations = invitations
    }
}

/// `POST /api/v1/invitations`: who to invite and with which role.
public struct InvitationRequest: Codable, Sendable {
    public let email: String
    public let role: MemberRole
    public init(email: String, role: MemberRole) {
        self.email = email
        self.role = role
    }
}

/// A new invitation and its one-time link (shown this once; only its hash is kept).
public struct InvitationCreated: Codable, Sendable {
    public let invitation: InvitationView
    public let url: String
    public init(invitation: InvitationView, url: String) {
        self.invitation = invitation
        self.url = url
    }
}

/// `PATCH /api/v1/members/{member}`: the member's new role.
public struct MemberUpdate: Codable, Sendable {
    public let role: MemberRole
    public init(role: MemberRole) { self.role = role }
}

/// One signed-in browser of a member.
public struct SessionView: Codable, Sendable, Equatable {
    public let id: String
    public let memberID: String
    public let createdAt: Date
    public let expiresAt: Date
    /// Whether this is the session making the request.
    public let current: Bool
    public init(id: String, memberID: String, createdAt: Date, expiresAt: Date, current: Bool) {
        self.id = id
        self.memberID = memberID
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.current = current
    }
}

/// `GET /api/v1/sessions`: the caller's signed-in browsers, newest first.
public struct SessionList: Codable, Sendable {
    public let sessions: [SessionView]
    public init(sessions: [SessionView]) { self.sessions = sessions }
}
