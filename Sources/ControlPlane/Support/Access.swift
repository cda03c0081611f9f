import BackupCore
import Foundation

/// The member a request acts for, and their role, bound for the whole request by the
/// `Authenticator` (API and web pages alike). Use cases ask `Access.require(_:)` where they are
/// entered, so a role is enforced once per use case (`RolePermissions.table`), never per route.
///
/// Outside a request (the scheduler, the notifier, `mzpanel admin` on the hub's machine) nothing is
/// bound and the hub acts for itself: every check passes.
public struct Access: Sendable, Equatable {
    public let accountID: String
    /// The member; nil for a token that belongs to no member (made by `mzpanel admin` before members existed).
    public let memberID: String?
    public let role: MemberRole

    public init(accountID: String, memberID: String?, role: MemberRole) {
        self.accountID = accountID
        self.memberID = memberID
        self.role = role
    }

    @TaskLocal public static var current: Access?

    /// Throws 403 `forbidden_role` when the request's member may not do `permission`.
    public static func require(_ permission: Permission) throws(DomainError) {
        guard let current, !current.role.allows(permission) else { return }
        throw RolePermissions.refusal(current.role, permission)
    }

    /// Whether the request's member may do `permission` (true outside a request).
    public static func allows(_ permission: Permission) -> Bool {
        current.map { $0.role.allows(permission) } ?? true
    }
}
