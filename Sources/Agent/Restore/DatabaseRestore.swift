import BackupCore
import Foundation
import ResticKit

/// Restoring a database dump: the target database is checked (a non-empty one needs the
/// restore's confirmation), created or emptied, then the dump streams from restic straight into
/// psql, mariadb/mysql or sqlite3 — no temporary file.
///
/// A dump is data from another server, never a script this one runs: each client reads it with
/// its commands that reach the shell or files switched off — psql restricted by `\restrict` with
/// a key the dump cannot know (`PsqlRestrictGuard`), `mariadb --sandbox`, `sqlite3 -safe` — so a
/// dump carrying `\! …`, `system …` or `.shell …` fails at that line and runs nothing.
struct DatabaseRestorer {
    let restore: DatabaseRestore
    let overwrite: Bool
    let log: RunLog
    var locate: (String) -> String? = { ProgramLocator.find($0) }

    /// The file the dump has in its snapshot (as the backup named it).
    var dumpPath: String { "/" + DumpCommand.filename(for: DatabaseSource(engine: restore.engine, name: restore.name)) }
    /// The `source=` tag of the dump's snapshot.
    var sourceTag: String { "source=" + DumpCommand.sourceTag(for: DatabaseSource(engine: restore.engine, name: restore.name)) }

    /// The client that reads the dump on its standard input, and the guard the dump passes through.
    struct Loader {
        var command: ProducerCommand
        var filter: (any StreamFilter)?
    }

    /// Makes the target ready and answers the loader that reads the dump.
    func prepare() throws -> Loader {
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
                // pg_dumpall's script switches databases with psql's \connect, which only an
                // unrestricted psql runs: the agent will not run it.
                throw AgentError(
                    "a dump of all PostgreSQL databases is a psql script that switches databases with \\connect, which the agent does not run (a dump must not run client commands); restore the databases one by one from a job that dumps each, or download the dump file from the snapshot, read it, and load it with psql yourself"
                )
            }
            let literal = "'" + target.replacingOccurrences(of: "'", with: "''") + "'"
            let identifier = "\"" + target.replacingOccurrences(of: "\"", with: "\"\"") + "\""
            let exists = try Self.tool(psql, base + ["-d", "postgres", "-Atc", "SELECT 1 FROM pg_database WHERE datname = \(literal)"]) == "1"
            if exists {
                let tables = try Self.tool(
                    psql,
                    base + [
                        "-d", Self.conninfo(database: target), "-Atc",
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
            return Loader(
                command: ProducerCommand(executable: psql, arguments: base + ["-d", Self.conninfo(database: target)]), filter: PsqlRestrictGuard())
        case .mysql, .mariadb:
            let candidates = restore.engine == .mariadb ? ["mariadb", "mysql"] : ["mysql", "mariadb"]
            guard let client = candidates.compactMap(locate).first else {
                throw AgentError(
                    "neither mariadb nor mysql is installed, so the dump cannot be restored; install the mariadb-client (or mysql-client) package")
            }
            // --sandbox (MariaDB 10.5.25, 10.6.18, 10.11.8 and later) refuses \!, system, source,
            // tee and the like; a client without it cannot load a dump safely.
            if (try? Self.tool(client, ["--sandbox", "--version"])) == nil {
                throw AgentError(
                    "\((client as NSString).lastPathComponent) has no --sandbox mode, so it would run the client commands a dump may carry; install a current mariadb-client (10.11.8 or later) to restore this dump"
                )
            }
            var base: [String] = ["--sandbox"]
            if let socket = connection.socket { base.append("--socket=\(socket)") }
            if let host = connection.host { base.append("--host=\(host)") }
            if let port = connection.port { base.append("--port=\(port)") }
            if let user = connection.user { base.append("--user=\(user)") }
            if restore.name == "*" {
                guard overwrite else { throw refusal("restoring all databases replaces every database in the dump") }
                return Loader(command: ProducerCommand(executable: client, arguments: base))
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
            return Loader(command: ProducerCommand(executable: client, arguments: base + ["--database=\(target)"]))
        case .sqlite:
            let sqlite = try find("sqlite3", package: "sqlite3")
            let size = ((try? FileManager.default.attributesOfItem(atPath: target))?[.size] as? NSNumber)?.int64Value ?? 0
            if size > 0 {
                guard overwrite else { throw refusal("the SQLite file \(target) exists and is not empty") }
                log("replacing SQLite file \(target) (confirmed)")
                try FileManager.default.removeItem(atPath: target)
            }
            return Loader(command: ProducerCommand(executable: sqlite, arguments: ["-bail", "-safe", target]))
        }
    }

    /// Prepares the target and streams the dump of `snapshotID` into it through the guarded client.
    func load(restic: Restic, repository: ResticRepository, snapshotID: String) async throws {
        let loader = try prepare()
        log("streaming \(dumpPath) into \(restore.engine.rawValue) \(restore.targetName)")
        do {
            try await restic.dump(repository, snapshotID: snapshotID, path: dumpPath, into: loader.command, filter: loader.filter)
        } catch {
            throw Self.explained(error, dump: dumpPath)
        }
    }

    /// A libpq connection string that names exactly one database: `dbname='…'` with `\` and `'`
    /// escaped, so a name is never read as a connection string of its own (`host=… dbname=…`).
    static func conninfo(database: String) -> String {
        "dbname='" + database.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "'", with: "\\'") + "'"
    }

    /// A client's refusal of a command in the dump, said plainly (other errors unchanged).
    static func explained(_ error: any Error, dump: String) -> any Error {
        let text = "\(error)"
        let refusals = ["backslash commands are restricted", "\\unrestrict: wrong key", "Not allowed in the sandbox mode", "in safe mode"]
        guard refusals.contains(where: { text.contains($0) }) else { return error }
        return AgentError(
            "the dump \(dump) contains a client command (such as \\! or system, which run a shell) that a database dump never needs; it was refused and nothing after it was loaded, so the database is incomplete. The source server may be compromised: check the dump before using it. (\(text))"
        )
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

/// Puts psql in restricted mode before a dump: `\restrict KEY` with a random key the dump cannot
/// know, so every psql meta-command in it (`\!`, `\o |…`, `\copy`, `\connect`, `\unrestrict`) is
/// refused and, with ON_ERROR_STOP, the load stops there. pg_dump 15.14 and later restrict their
/// own dumps (`\restrict K` at the top, `\unrestrict K` at the end); those two lines — the first
/// `\restrict` line's key and `\unrestrict` of that same key — are dropped, since the session is
/// already restricted and psql refuses a second `\restrict`. Only lines that start with a
/// backslash are looked at; everything else streams through unchanged.
final class PsqlRestrictGuard: StreamFilter, @unchecked Sendable {
    private let key: String
    private var started = false
    private var atLineStart = true
    /// A line that starts with a backslash, held until its end (at most 256 bytes).
    private var held: Data?
    private var dumpKey: String?

    init() {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
        key = String((0..<40).map { _ in alphabet.randomElement()! })
    }

    func filter(_ chunk: Data) -> Data {
        var out = Data()
        out.reserveCapacity(chunk.count + 64)
        if !started {
            out.append(Data("\\restrict \(key)\n".utf8))
            started = true
        }
        let newline = UInt8(ascii: "\n")
        let backslash = UInt8(ascii: "\\")
        var index = chunk.startIndex
        while index < chunk.endIndex {
            if held != nil {
                let byte = chunk[index]
                index += 1
                if byte == newline {
                    let line = held!
                    held = nil
                    atLineStart = true
                    if !isDumpsOwnRestriction(line) { out.append(line + [newline]) }
                } else {
                    held!.append(byte)
                    if held!.count > 256 {
                        out.append(held!)
                        held = nil
                        atLineStart = false
                    }
                }
                continue
            }
            if atLineStart && chunk[index] == backslash {
                held = Data([backslash])
                atLineStart = false
                index += 1
                continue
            }
            // Copy through the end of this line (or of the chunk) in one go.
            let end = chunk[index...].firstIndex(of: newline).map { $0 + 1 } ?? chunk.endIndex
            out.append(chunk[index..<end])
            atLineStart = chunk[end - 1] == newline
            index = end
        }
        return out
    }

    func finish() -> Data {
        var out = Data()
        if !started {
            out.append(Data("\\restrict \(key)\n".utf8))
            started = true
        }
        if let line = held, !isDumpsOwnRestriction(line) { out.append(line) }
        held = nil
        return out
    }

    private func isDumpsOwnRestriction(_ line: Data) -> Bool {
        var text = String(decoding: line, as: UTF8.self)
        if text.hasSuffix("\r") { text.removeLast() }
        func argument(_ command: String) -> String? {
            guard text.hasPrefix(command + " ") else { return nil }
            let value = text.dropFirst(command.count + 1)
            return !value.isEmpty && value.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber) }) ? String(value) : nil
        }
        if let value = argument("\\restrict"), dumpKey == nil || dumpKey == value {
            dumpKey = value
            return true
        }
        if let value = argument("\\unrestrict"), value == dumpKey { return true }
        return false
    }
}
