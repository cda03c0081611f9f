import BackupCore
import Foundation
import ResticKit

/// Restoring a database dump: the target database is checked (a non-empty one needs the
/// restore's confirmation), created or emptied, then the dump streams from restic straight into
/// psql, mariadb/mysql or sqlite3 — no temporary file.
struct DatabaseRestorer {
    let restore: DatabaseRestore
    let overwrite: Bool
    let log: RunLog
    var locate: (String) -> String? = { ProgramLocator.find($0) }

    /// The file the dump has in its snapshot (as the backup named it).
    var dumpPath: String { "/" + DumpCommand.filename(for: DatabaseSource(engine: restore.engine, name: restore.name)) }
    /// The `source=` tag of the dump's snapshot.
    var sourceTag: String { "source=" + DumpCommand.sourceTag(for: DatabaseSource(engine: restore.engine, name: restore.name)) }

    /// Makes the target ready and answers the command that reads the dump on its standard input.
    func prepare() throws -> ProducerCommand {
        let connection = try DatabaseConnection.parse(restore.connection)
        let target = restore.targetName
        switch restore.engine {
        case .postgresql:
            let psql = try find("psql", package: "postgresql-client")
            var base = ["--no-password", "-X", "-q", "-v", "ON_ERROR_STOP=1"]
            if let host = connection.socket ?? connection.host { base += ["-h", DumpCommand.postgresSocketDirectory(host)] }
            if let port = connection.port ?? DumpCommand.postgresSocketPort(connection.socket) { base += ["-p", String(port)] }
            if let user = connection.user { base += ["-U", user] }
            if restore.name == "*" {
                guard overwrite else { throw refusal("restoring all databases replaces every database in the dump") }
                return ProducerCommand(executable: psql, arguments: base + ["-d", "postgres"])
            }
            let literal = "'" + target.replacingOccurrences(of: "'", with: "''") + "'"
            let identifier = "\"" + target.replacingOccurrences(of: "\"", with: "\"\"") + "\""
            let exists = try Self.tool(psql, base + ["-d", "postgres", "-Atc", "SELECT 1 FROM pg_database WHERE datname = \(literal)"]) == "1"
            if exists {
                let tables = try Self.tool(
                    psql,
                    base + [
                        "-d", target, "-Atc",
                        "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema')",
                    ])
                if tables != "0" {
                    guard overwrite else { throw refusal("the PostgreSQL database \(target) exists and has \(tables) tables") }
                    log("dropping and recreating PostgreSQL database \(target) (confirmed)")
                    _ = try Self.tool(psql, base + ["-d", "postgres", "-c", "DROP DATABASE \(identifier) WITH (FORCE)"])
                    _ = try Self.tool(psql, base + ["-d", "postgres", "-c", "CREATE DATABASE \(identifier)"])
                }
            } else {
                log("creating PostgreSQL database \(target)")
                _ = try Self.tool(psql, base + ["-d", "postgres", "-c", "CREATE DATABASE \(identifier)"])
            }
            return ProducerCommand(executable: psql, arguments: base + ["-d", target])
        case .mysql, .mariadb:
            let candidates = restore.engine == .mariadb ? ["mariadb", "mysql"] : ["mysql", "mariadb"]
            guard let client = candidates.compactMap(locate).first else {
                throw AgentError(
                    "neither mariadb nor mysql is installed, so the dump cannot be restored; install the mariadb-client (or mysql-client) package")
            }
            var base: [String] = []
            if let socket = connection.socket { base.append("--socket=\(socket)") }
            if let host = connection.host { base.append("--host=\(host)") }
            if let port = connection.port { base.append("--port=\(port)") }
            if let user = connection.user { base.append("--user=\(user)") }
            if restore.name == "*" {
                guard overwrite else { throw refusal("restoring all databases replaces every database in the dump") }
                return ProducerCommand(executable: client, arguments: base)
            }
            let literal = "'" + target.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "'", with: "\\'") + "'"
            let identifier = "`" + target.replacingOccurrences(of: "`", with: "``") + "`"
            let tables = try Self.tool(
                client, base + ["-N", "-B", "-e", "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = \(literal)"])
            if tables != "0" {
                guard overwrite else { throw refusal("the database \(target) exists and has \(tables) tables") }
                log("dropping and recreating database \(target) (confirmed)")
                _ = try Self.tool(client, base + ["-e", "DROP DATABASE \(identifier)"])
            }
            _ = try Self.tool(client, base + ["-e", "CREATE DATABASE IF NOT EXISTS \(identifier)"])
            return ProducerCommand(executable: client, arguments: base + [target])
        case .sqlite:
            let sqlite = try find("sqlite3", package: "sqlite3")
            let size = ((try? FileManager.default.attributesOfItem(atPath: target))?[.size] as? NSNumber)?.int64Value ?? 0
            if size > 0 {
                guard overwrite else { throw refusal("the SQLite file \(target) exists and is not empty") }
                log("replacing SQLite file \(target) (confirmed)")
                try FileManager.default.removeItem(atPath: target)
            }
            return ProducerCommand(executable: sqlite, arguments: ["-bail", target])
        }
    }

    private func refusal(_ what: String) -> AgentError {
        AgentError(
            "\(what); nothing was changed. Restore into a new name (--database \(restore.engine.rawValue):\(restore.name)=NEWNAME), or confirm with --overwrite"
        )
    }

    private func find(_ program: String, package: String) throws -> String {
        guard let path = locate(program) else {
            throw AgentError("\(program) is not installed, so the dump cannot be restored; install the \(package) package")
        }
        return path
    }

    /// Runs a client for one statement; its trimmed output, or an error with its last words.
    static func tool(_ executable: String, _ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let problem = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw AgentError(
                "\((executable as NSString).lastPathComponent) failed (exit \(process.terminationStatus)): \(problem.trimmingCharacters(in: .whitespacesAndNewlines).prefix(400))"
            )
        }
        return text.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
