import BackupCore
import Foundation

/// The program whose standard output is one database's dump, streamed into `restic backup --stdin`
/// (no temporary file). Built from the job's database source; passwords are never arguments
/// (they stay in `~/.pgpass` or a MySQL option file on the server).
public struct DumpCommand: Sendable, Equatable {
    public var executable: String
    public var arguments: [String]

    public init(executable: String, arguments: [String]) {
        self.executable = executable
        self.arguments = arguments
    }

    /// The name the dump has inside the snapshot: `<engine>-<name>.sql` (`all` for `*`, the file's
    /// base name for SQLite).
    public static func filename(for source: DatabaseSource) -> String {
        "\(source.engine.rawValue)-\(label(for: source)).sql"
    }

    /// The `source=` tag of the snapshot: `db-<engine>-<name>`.
    public static func sourceTag(for source: DatabaseSource) -> String {
        "db-\(source.engine.rawValue)-\(label(for: source))"
    }

    static func label(for source: DatabaseSource) -> String {
        if source.name == "*" { return "all" }
        let base = source.engine == .sqlite ? (source.name as NSString).lastPathComponent : source.name
        let cleaned = base.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == "." ? String($0) : "_" }.joined()
        return cleaned.isEmpty ? "db" : cleaned
    }

    /// The dump command for `source`. `locate` finds a program (a name → absolute path or nil).
    public static func make(for source: DatabaseSource, locate: (String) -> String? = { ProgramLocator.find($0) }) throws -> DumpCommand {
        let connection = try DatabaseConnection.parse(source.connection)
        let name = source.name.trimmingCharacters(in: .whitespaces)
        guard !name.isEmpty else { throw AgentError("a database source of the job has no name; fix the job on the hub") }
        guard !name.hasPrefix("-") else {
            throw AgentError(
                "the database name \"\(name)\" starts with '-', which the dump tools would read as an option; rename the database in the job")
        }
        switch source.engine {
        case .postgresql:
            var arguments: [String] = []
            let program = name == "*" ? "pg_dumpall" : "pg_dump"
            if name != "*" { arguments.append("--format=plain") }
            arguments.append("--no-password")
            if let host = connection.socket ?? connection.host { arguments += ["-h", postgresSocketDirectory(host)] }
            if let port = connection.port ?? postgresSocketPort(connection.socket) { arguments += ["-p", String(port)] }
            if let user = connection.user { arguments += ["-U", user] }
            // The name as a one-key connection string, so pg_dump never reads it as one of its own.
            if name != "*" { arguments.append("--dbname=" + DatabaseRestorer.conninfo(database: name)) }
            return DumpCommand(executable: try find(program, locate: locate, package: "postgresql-client"), arguments: arguments)
        case .mysql, .mariadb:
            let candidates = source.engine == .mariadb ? ["mariadb-dump", "mysqldump"] : ["mysqldump", "mariadb-dump"]
            guard let program = candidates.compactMap({ locate($0) }).first else {
                throw AgentError(
                    "neither mariadb-dump nor mysqldump is installed, so the \(source.engine.rawValue) database \(name) cannot be dumped; install the mariadb-client (or mysql-client) package"
                )
            }
            var arguments = ["--single-transaction", "--routines", "--events"]
            if let socket = connection.socket { arguments.append("--socket=\(socket)") }
            if let host = connection.host { arguments.append("--host=\(host)") }
            if let port = connection.port { arguments.append("--port=\(port)") }
            if let user = connection.user { arguments.append("--user=\(user)") }
            arguments.append(name == "*" ? "--all-databases" : name)
            return DumpCommand(executable: program, arguments: arguments)
        case .sqlite:
            guard name.hasPrefix("/") else {
                throw AgentError("the SQLite database \"\(name)\" must be an absolute file path; fix the job on the hub")
            }
            guard FileManager.default.fileExists(atPath: name) else {
                throw AgentError("the SQLite database \(name) does not exist on this server; check the path in the job")
            }
            // `.dump` of a file that is not a database prints an error comment and exits 0; reading
            // the schema first (output discarded) makes sqlite3 exit non-zero instead (-bail).
            return DumpCommand(
                executable: try find("sqlite3", locate: locate, package: "sqlite3"),
                arguments: ["-bail", "-readonly", name, ".output /dev/null", "SELECT count(*) FROM sqlite_master;", ".output stdout", ".dump"])
        }
    }

    private static func find(_ program: String, locate: (String) -> String?, package: String) throws -> String {
        guard let path = locate(program) else {
            throw AgentError("\(program) is not installed, so the database cannot be dumped; install the \(package) package")
        }
        return path
    }

    /// PostgreSQL takes the socket's directory in -h; a path to the socket file itself
    /// (`/run/postgresql/.s.PGSQL.5433`) becomes its directory (and port).
    static func postgresSocketDirectory(_ host: String) -> String {
        guard host.hasPrefix("/"), (host as NSString).lastPathComponent.hasPrefix(".s.PGSQL.") else { return host }
        return (host as NSString).deletingLastPathComponent
    }

    static func postgresSocketPort(_ socket: String?) -> Int? {
        guard let socket, (socket as NSString).lastPathComponent.hasPrefix(".s.PGSQL.") else { return nil }
        return Int((socket as NSString).lastPathComponent.dropFirst(".s.PGSQL.".count))
    }
}
