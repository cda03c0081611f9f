import Foundation

/// An empty success body for deletions: `{"deleted": true}`.
public struct Deleted: Codable, Sendable {
    public let deleted: Bool
    public init() { deleted = true }
}

/// An error answer: `{"error": {"code", "message", "field"}}`.
public struct ErrorBody: Codable, Sendable {
    /// What went wrong: a stable code, a message for people, and the input field at fault.
    public struct Detail: Codable, Sendable {
        public let code: String
        public let message: String
        public let field: String?
        public init(code: String, message: String, field: String?) {
            self.code = code
            self.message = message
            self.field = field
        }
    }
    public let error: Detail
    public init(error: Detail) { self.error = error }
}

/// `GET /api/health`: liveness, the database in use and the hub's version.
public struct HubHealth: Codable, Sendable {
    public let status: String
    public let database: String
    public let version: String
    public init(status: String, database: String, version: String) {
        self.status = status
        self.database = database
        self.version = version
    }
}
