import Foundation

/// One change made in the account: who, what (the route's action and the resource path), when,
/// and whether it worked. Built from the request line and the caller only: never a body, so
/// never a secret.
public struct AuditEvent: Sendable, Codable, Equatable {
    public var id: String
    public var accountID: String
    public var at: Date
    /// `ops@example.com`, `API token "deploy" (tok_…)`, `agent of web-1`.
    public var actor: String
    /// What happened in words: "Create a job", "Run a job now", "Log in".
    public var action: String
    public var method: String
    /// The request path with ids (`/api/v1/jobs/job_…/run`); query strings are left out.
    public var path: String
    public var status: Int
    /// The resource created or acted on, when the path or the answer names one.
    public var resourceID: String?
    /// The client's IP address (behind a trusted reverse proxy, the one it forwarded; nil in entries from before it was kept).
    public var address: String?

    public init(
        id: String, accountID: String, at: Date, actor: String, action: String, method: String, path: String, status: Int, resourceID: String?,
        address: String? = nil
    ) {
        self.address = address
        self.id = id
        self.accountID = accountID
        self.at = at
        self.actor = actor
        self.action = action
        self.method = method
        self.path = path
        self.status = status
        self.resourceID = resourceID
    }
}

/// Which audit entries to list.
public struct AuditFilter: Sendable, Equatable {
    /// Entries about this resource id (anywhere in the path or as the created resource).
    public var resourceID: String?
    /// Entries whose actor contains this text.
    public var actor: String?
    public var since: Date?
    public var until: Date?

    public init(resourceID: String? = nil, actor: String? = nil, since: Date? = nil, until: Date? = nil) {
        self.resourceID = resourceID
        self.actor = actor
        self.since = since
        self.until = until
    }
}
