import Foundation

/// How to reach a database, parsed from a job's `connection` text: `host`, `host:port`,
/// `user@host`, `user@host:port`, `[::1]:5432`, or a Unix socket path starting with `/`
/// (optionally `user@/path`). Passwords never appear here: they stay on the server
/// (`~/.pgpass`, a MySQL option file).
public struct DatabaseConnection: Sendable, Equatable {
    public var host: String?
    public var port: Int?
    public var user: String?
    /// A socket file or (PostgreSQL) socket directory.
    public var socket: String?

    public init(host: String? = nil, port: Int? = nil, user: String? = nil, socket: String? = nil) {
        self.host = host
        self.port = port
        self.user = user
        self.socket = socket
    }

    /// nil or empty text = the engine's defaults (local socket, current user).
    public static func parse(_ text: String?) throws -> DatabaseConnection {
        let value = (text ?? "").trimmingCharacters(in: .whitespaces)
        if value.isEmpty { return DatabaseConnection() }
        guard !value.contains(where: { $0.isNewline || $0 == "\0" || $0 == " " }) else {
            throw invalid(value, "it contains spaces or line breaks")
        }
        var connection = DatabaseConnection()
        var rest = Substring(value)
        if !value.hasPrefix("/"), let at = rest.lastIndex(of: "@") {
            let user = String(rest[..<at])
            guard !user.isEmpty, !user.contains(":") else {
                throw invalid(value, "the part before @ must be a user name without a password")
            }
            connection.user = try option(user, value)
            rest = rest[rest.index(after: at)...]
        }
        if rest.hasPrefix("/") {
            connection.socket = String(rest)
            return connection
        }
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]") else { throw invalid(value, "an IPv6 address needs a closing ]") }
            connection.host = String(rest[rest.index(after: rest.startIndex)..<close])
            rest = rest[rest.index(after: close)...]
            if !rest.isEmpty {
                guard rest.hasPrefix(":") else { throw invalid(value, "expected :PORT after the IPv6 address") }
                connection.port = try port(rest.dropFirst(), value)
            }
        } else if let colon = rest.lastIndex(of: ":") {
            connection.host = String(rest[..<colon])
            connection.port = try port(rest[rest.index(after: colon)...], value)
        } else {
            connection.host = String(rest)
        }
        guard let host = connection.host, !host.isEmpty else { throw invalid(value, "the host is missing") }
        connection.host = try option(host, value)
        return connection
    }

    private static func port(_ text: Substring, _ value: String) throws -> Int {
        guard let port = Int(text), (1...65535).contains(port) else {
            throw invalid(value, "\"\(text)\" is not a port (1–65535)")
        }
        return port
    }

    /// A value that will follow an option must not look like an option itself.
    private static func option(_ text: String, _ value: String) throws -> String {
        guard !text.hasPrefix("-") else { throw invalid(value, "\"\(text)\" must not start with '-'") }
        return text
    }

    private static func invalid(_ value: String, _ reason: String) -> AgentError {
        AgentError(
            "the database connection \"\(value)\" is not valid: \(reason); use host, host:port, user@host:port or a socket path such as /run/postgresql, and change it in the job"
        )
    }
}
