import Foundation
import PostgresNIO
import SQLiteNIO

/// A short account of a database failure that is safe for logs and error messages.
///
/// PostgresNIO's errors print a generic text on purpose (their details may hold the query and its
/// values), which left a failed request logged as just "PSQLError". This keeps what an operator
/// needs and nothing that can carry data: the client-side code, the SQLSTATE, and the server's
/// message only for failures of the server or the connection (SQLSTATE classes 08, 28, 53, 57 —
/// "too many clients", "the database system is shutting down"), whose texts hold no values. Never
/// the query, its binds, DETAIL or HINT.
public enum DatabaseFailure {
    /// SQLSTATE classes whose messages describe the server or the connection, not the data.
    static let describedClasses: Set<Substring> = ["08", "28", "53", "57"]

    public static func describe(_ error: any Error) -> String {
        if let error = error as? StoreError { return error.description }
        if let error = error as? PSQLError { return describe(error) }
        if let error = error as? SQLiteError { return "SQLite \(error.reason)" }
        return String(describing: type(of: error))
    }

    static func describe(_ error: PSQLError) -> String {
        guard let state = error.serverInfo?[.sqlState] else {
            let cause = error.underlying.map { ": \(String(describing: type(of: $0)))" } ?? ""
            return "PostgreSQL \(error.code)\(cause)"
        }
        let message = error.serverInfo?[.message] ?? ""
        guard describedClasses.contains(state.prefix(2)), !message.isEmpty else { return "PostgreSQL error \(state)" }
        return "PostgreSQL error \(state): \(message)"
    }

    /// SQLSTATEs with which a server refuses a new connection for now: no free slot (53300), or
    /// shutting down, restarting or starting up (57P01–57P03).
    static let refusedForNow: Set<String> = ["53300", "57P01", "57P02", "57P03"]

    /// Whether opening a connection failed in a way that may pass: the server refused it for now,
    /// the connection broke (class 08), or it could not be reached — not a wrong password or URL.
    public static func isPassingConnectionFailure(_ error: any Error) -> Bool {
        guard let error = error as? PSQLError else { return false }
        if let state = error.serverInfo?[.sqlState] { return refusedForNow.contains(state) || state.hasPrefix("08") }
        return [.connectionError, .serverClosedConnection, .uncleanShutdown].contains(error.code)
    }
}
