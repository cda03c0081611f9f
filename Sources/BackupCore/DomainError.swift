/// A rule of the domain that an input broke, in words a person can act on.
///
/// `field` names the input that is wrong (a JSON key or CLI option without dashes) so an API
/// client or the web UI can show the message next to it. Messages never contain secrets.
public struct DomainError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: String, Sendable, Codable {
        case invalid = "invalid"
        case planRequired = "plan_required"
        case notFound = "not_found"
        case conflict = "conflict"
        /// A name matches several resources (jobs of the same name on different servers).
        case ambiguous = "ambiguous"
        /// Another machine (a server's agent) did not answer in time.
        case timeout = "timeout"
        case unauthorized = "unauthorized"
        /// The caller's role does not include what was asked (`RolePermissions.table`).
        case forbidden = "forbidden"
    }

    public let code: Code
    public let field: String?
    public let message: String
    /// A finer machine-readable reason within the code (`not_sealed`, `offline`…); clients see it as the error's code.
    public let reason: String?

    public init(_ code: Code, field: String? = nil, _ message: String, reason: String? = nil) {
        self.code = code
        self.field = field
        self.message = message
        self.reason = reason
    }

    /// The code a client sees: the reason when there is one.
    public var wireCode: String { reason ?? code.rawValue }

    public static func invalid(_ field: String?, _ message: String) -> DomainError {
        DomainError(.invalid, field: field, message)
    }

    public static func notFound(_ resource: String, _ reference: String) -> DomainError {
        DomainError(.notFound, "\(resource) \"\(reference)\" was not found in this account")
    }

    public static func conflict(_ field: String?, _ message: String) -> DomainError {
        DomainError(.conflict, field: field, message)
    }

    /// The same error with its field placed under `prefix` (e.g. `path` → `settings.path`).
    public func prefixed(_ prefix: String) -> DomainError {
        guard let field, field != prefix, !field.hasPrefix(prefix + ".") else { return self }
        return DomainError(code, field: prefix + "." + field, message, reason: reason)
    }

    public var description: String {
        if let field { return "\(field): \(message)" }
        return message
    }
}
