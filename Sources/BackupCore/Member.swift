import Foundation

/// What a member of an account may do, from least to most: `viewer` ⊂ `operator` ⊂ `admin` ⊂ `owner`.
/// What each role allows is `RolePermissions.table`, one table for the API, the web hub and the CLI.
public enum MemberRole: String, Sendable, Codable, CaseIterable, Comparable {
    case viewer
    case `operator`
    case admin
    case owner

    var rank: Int {
        switch self {
        case .viewer: 0
        case .operator: 1
        case .admin: 2
        case .owner: 3
        }
    }

    public static func < (lhs: MemberRole, rhs: MemberRole) -> Bool { lhs.rank < rhs.rank }

    /// Whether this role includes `permission` (per `RolePermissions.table`).
    public func allows(_ permission: Permission) -> Bool { RolePermissions.table[self]?.contains(permission) ?? false }

    /// The widest API token scope a member of this role may create: a token never carries more than its member.
    public var maximumTokenScope: TokenScope {
        switch self {
        case .viewer: .read
        case .operator: .write
        case .admin, .owner: .admin
        }
    }

    /// A role from its name (`owner`, `admin`, `operator`, `viewer`).
    public static func parse(_ text: String, field: String = "role") throws(DomainError) -> MemberRole {
        guard let role = MemberRole(rawValue: text.trimmingSpaces.lowercased()) else {
            throw .invalid(field, "\"\(text)\" is not a role: use owner, admin, operator or viewer")
        }
        return role
    }
}

/// One thing a use case does that not every member may do. Reading (servers, jobs, runs,
/// snapshots, the audit log, metrics) needs no permission: every member may look.
public enum Permission: String, Sendable, Codable, CaseIterable {
    /// Read secrets' ciphertext and credential-bearing settings: the vault document, envelopes, notification channel addresses.
    case readSecrets = "read-secrets"
    /// List the files of a snapshot.
    case browse
    /// Download files of a snapshot through the hub.
    case download
    /// Run a job now, cancel a run.
    case runNow = "run-now"
    /// Restore to a new location: a target directory, a database under another name, or a dry run.
    case restore
    /// Restore over existing data: in place, with overwrite, a whole stack.
    case restoreInPlace = "restore-in-place"
    /// Create, change, enable, disable and sign jobs.
    case editJobs = "edit-jobs"
    case deleteJobs = "delete-jobs"
    /// Create, change and sign destinations; seal and unseal credentials; the vault.
    case editDestinations = "edit-destinations"
    case deleteDestinations = "delete-destinations"
    /// Add, rename, enroll, certify, upgrade servers and discover their stacks.
    case manageServers = "manage-servers"
    case deleteServers = "delete-servers"
    /// Add, change, test and remove notification channels.
    case manageNotifications = "manage-notifications"
    /// List, create and revoke one's own API tokens; list and end one's own sessions.
    case ownCredentials = "own-credentials"
    /// Invite members, change roles, remove members, require two-factor sign-in.
    case manageMembers = "manage-members"
    /// Change the account's plan.
    case managePlan = "manage-plan"

    /// What the permission allows, in words, for a refusal: "your role (viewer) may not delete jobs".
    public var words: String {
        switch self {
        case .readSecrets: "read secrets (the vault, envelopes, notification addresses)"
        case .browse: "browse snapshots"
        case .download: "download files"
        case .runNow: "run jobs now or cancel runs"
        case .restore: "restore snapshots"
        case .restoreInPlace: "restore over existing data (in place or with overwrite)"
        case .editJobs: "create or change jobs"
        case .deleteJobs: "delete jobs"
        case .editDestinations: "create or change destinations and their sealed credentials"
        case .deleteDestinations: "delete destinations"
        case .manageServers: "add or change servers"
        case .deleteServers: "remove servers"
        case .manageNotifications: "change notification channels"
        case .ownCredentials: "manage their own API tokens and sessions"
        case .manageMembers: "manage the account's members"
        case .managePlan: "change the account's plan"
        }
    }
}

/// The permission table, as data: what each role may do. Enforced where the use cases are entered
/// (ControlPlane's `Access.require`), so the API, the web hub and the CLI cannot differ.
public enum RolePermissions {
    public static let viewer: Set<Permission> = [.ownCredentials]
    public static let `operator`: Set<Permission> = viewer.union([.browse, .download, .runNow, .restore])
    public static let admin: Set<Permission> = Set(Permission.allCases).subtracting([.manageMembers, .managePlan])
    public static let owner: Set<Permission> = Set(Permission.allCases)

    public static let table: [MemberRole: Set<Permission>] = [.viewer: viewer, .operator: `operator`, .admin: admin, .owner: owner]

    /// The refusal when `role` lacks `permission`.
    public static func refusal(_ role: MemberRole, _ permission: Permission) -> DomainError {
        DomainError(
            .forbidden,
            "your role (\(role.rawValue)) may not \(permission.words); ask an owner of the account to change your role",
            reason: "forbidden_role")
    }
}

/// An invitation to join an account: a one-time link (its secret stored as a hash) that lets the
/// invitee choose a password and become a member with the role given.
public struct Invitation: Sendable, Codable, Equatable {
    public var id: String
    public var accountID: String
    public var email: String
    public var role: MemberRole
    public var invitedBy: String
    public var createdAt: Date
    public var expiresAt: Date
    public var acceptedAt: Date?

    public init(
        id: String, accountID: String, email: String, role: MemberRole, invitedBy: String, createdAt: Date, expiresAt: Date, acceptedAt: Date? = nil
    ) {
        self.id = id
        self.accountID = accountID
        self.email = email
        self.role = role
        self.invitedBy = invitedBy
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.acceptedAt = acceptedAt
    }

    /// How long an invitation link works: 7 days.
    public static let lifetime: TimeInterval = 7 * 86_400
}

/// The rules about who an account's members may become.
public enum MemberRules {
    /// Refuses a change that would leave the account without an owner.
    public static func checkOwners(remaining owners: Int) throws(DomainError) {
        if owners < 1 {
            throw DomainError.conflict(
                "role", "the account's last owner cannot be removed or demoted; make another member owner first")
        }
    }
}
