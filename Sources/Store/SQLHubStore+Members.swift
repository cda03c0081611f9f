import BackupCore
import Foundation
import SQLKit

/// An account's members, their invitations and their browser sessions.
extension SQLHubStore {
    public func members(accountID: String) async throws -> [User] {
        try await read { db in
            try await db.raw("SELECT * FROM users WHERE account_id = \(bind: accountID) ORDER BY created_at, id").all().map(Self.user)
        }
    }

    public func setMemberRole(accountID: String, userID: String, role: MemberRole) async throws -> User? {
        try await write { db in
            // Touching the account's row first serializes role changes per account (PostgreSQL holds the row lock until commit),
            // so two owners demoting each other at once cannot both pass the last-owner check.
            try await db.raw("UPDATE accounts SET name = name WHERE id = \(bind: accountID)").run()
            guard
                var user = try await db.raw("SELECT * FROM users WHERE id = \(bind: userID) AND account_id = \(bind: accountID)").first().map(
                    Self.user)
            else { return nil }
            if user.role == .owner, role != .owner {
                try MemberRules.checkOwners(remaining: try await Self.owners(db, accountID: accountID) - 1)
            }
            try await db.raw("UPDATE users SET role = \(bind: role.rawValue) WHERE id = \(bind: userID)").run()
            user.role = role
            return user
        }
    }

    public func removeMember(accountID: String, userID: String, at: Date) async throws -> Bool {
        try await write { db in
            try await db.raw("UPDATE accounts SET name = name WHERE id = \(bind: accountID)").run()
            guard
                let user = try await db.raw("SELECT * FROM users WHERE id = \(bind: userID) AND account_id = \(bind: accountID)").first().map(
                    Self.user)
            else { return false }
            if user.role == .owner { try MemberRules.checkOwners(remaining: try await Self.owners(db, accountID: accountID) - 1) }
            try await db.raw("DELETE FROM web_sessions WHERE user_id = \(bind: userID)").run()
            try await db.raw("DELETE FROM member_vault_keys WHERE member_id = \(bind: userID)").run()
            try await db.raw(
                "UPDATE api_tokens SET revoked_at = \(bind: at.millisecondsSince1970) WHERE user_id = \(bind: userID) AND revoked_at IS NULL"
            ).run()
            try await db.raw("DELETE FROM users WHERE id = \(bind: userID)").run()
            return true
        }
    }

    static func owners(_ db: any SQLDatabase, accountID: String) async throws -> Int {
        try await db.raw("SELECT id FROM users WHERE account_id = \(bind: accountID) AND role = 'owner'").all().count
    }

    public func sessions(accountID: String, userID: String?, now: Date) async throws -> [WebSession] {
        try await read { db in
            let rows: [any SQLRow]
            if let userID {
                rows = try await db.raw(
                    """
                    SELECT * FROM web_sessions WHERE account_id = \(bind: accountID) AND user_id = \(bind: userID)
                      AND expires_at > \(bind: now.millisecondsSince1970) ORDER BY created_at DESC, id
                    """
                ).all()
            } else {
                rows = try await db.raw(
                    """
                    SELECT * FROM web_sessions WHERE account_id = \(bind: accountID) AND expires_at > \(bind: now.millisecondsSince1970)
                      ORDER BY created_at DESC, id
                    """
                ).all()
            }
            return try rows.map(Self.webSession)
        }
    }

    public func deleteSession(accountID: String, id: String, userID: String?) async throws -> Bool {
        try await write { db in
            guard let row = try await db.raw("SELECT * FROM web_sessions WHERE id = \(bind: id) AND account_id = \(bind: accountID)").first()
            else { return false }
            let owner = try row.text("user_id")
            if let userID, owner != userID { return false }
            try await db.raw("DELETE FROM web_sessions WHERE id = \(bind: id)").run()
            return true
        }
    }

    public func createInvitation(_ invitation: Invitation, hash: String) async throws {
        try await write { db in
            try await db.raw(
                """
                INSERT INTO invitations (id, account_id, email, role, invited_by, token_hash, created_at, expires_at)
                VALUES (\(bind: invitation.id), \(bind: invitation.accountID), \(bind: invitation.email), \(bind: invitation.role.rawValue),
                        \(bind: invitation.invitedBy), \(bind: hash), \(bind: invitation.createdAt.millisecondsSince1970),
                        \(bind: invitation.expiresAt.millisecondsSince1970))
                """
            ).run()
        }
    }

    public func invitations(accountID: String) async throws -> [Invitation] {
        try await read { db in
            try await db.raw(
                "SELECT * FROM invitations WHERE account_id = \(bind: accountID) AND accepted_at IS NULL ORDER BY created_at DESC, id"
            ).all().map(Self.invitation)
        }
    }

    public func invitation(hash: String, now: Date) async throws -> Invitation? {
        try await read { db in
            try await db.raw(
                """
                SELECT * FROM invitations WHERE token_hash = \(bind: hash) AND accepted_at IS NULL AND expires_at > \(bind: now.millisecondsSince1970)
                """
            ).first().map(Self.invitation)
        }
    }

    public func acceptInvitation(hash: String, user: User, now: Date) async throws -> User? {
        try await write { db in
            guard
                let invitation = try await db.raw(
                    """
                    SELECT * FROM invitations WHERE token_hash = \(bind: hash) AND accepted_at IS NULL AND expires_at > \(bind: now.millisecondsSince1970)
                    """
                ).first().map(Self.invitation)
            else { return nil }
            if try await db.raw("SELECT id FROM users WHERE email = \(bind: invitation.email)").first() != nil {
                throw DomainError.conflict("email", "\(invitation.email) is already a member of an account on this hub; sign in instead")
            }
            var member = user
            member.accountID = invitation.accountID
            member.email = invitation.email
            member.role = invitation.role
            try await db.raw(
                "UPDATE invitations SET accepted_at = \(bind: now.millisecondsSince1970) WHERE id = \(bind: invitation.id) AND accepted_at IS NULL"
            ).run()
            try await db.raw(
                """
                INSERT INTO users (id, account_id, email, password_hash, created_at, role)
                VALUES (\(bind: member.id), \(bind: member.accountID), \(bind: member.email), \(bind: member.passwordHash),
                        \(bind: member.createdAt.millisecondsSince1970), \(bind: member.role.rawValue))
                """
            ).run()
            return member
        }
    }

    public func deleteInvitation(accountID: String, id: String) async throws -> Bool {
        try await write { db in
            guard
                try await db.raw(
                    "SELECT id FROM invitations WHERE id = \(bind: id) AND account_id = \(bind: accountID) AND accepted_at IS NULL"
                ).first() != nil
            else { return false }
            try await db.raw("DELETE FROM invitations WHERE id = \(bind: id)").run()
            return true
        }
    }

    static func invitation(_ row: any SQLRow) throws -> Invitation {
        guard let role = MemberRole(rawValue: try row.text("role")) else { throw StoreError.corrupt("invitations.role holds an unknown role") }
        return Invitation(
            id: try row.text("id"), accountID: try row.text("account_id"), email: try row.text("email"), role: role,
            invitedBy: try row.text("invited_by"), createdAt: try row.date("created_at"), expiresAt: try row.date("expires_at"),
            acceptedAt: try row.optionalDate("accepted_at"))
    }

    static func webSession(_ row: any SQLRow) throws -> WebSession {
        WebSession(
            id: try row.text("id"), accountID: try row.text("account_id"), userID: try row.text("user_id"),
            createdAt: try row.date("created_at"), expiresAt: try row.date("expires_at"))
    }
}
