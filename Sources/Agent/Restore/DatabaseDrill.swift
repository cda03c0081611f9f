import BackupCore
import Foundation
import ResticKit

/// One dump of a drill: loaded into a throw-away database (PostgreSQL and MariaDB/MySQL: a new
/// database `mzpanel_drill_…` next to the real ones; SQLite: a file in the scratch directory)
/// through the same guarded clients as a restore, its tables and rows counted, the assertions run
/// (each in a read-only transaction where the engine has one), then dropped — also on failure.
struct DatabaseDrill {
    let source: DatabaseRestore
    let scratch: String
    let runID: String
    let log: RunLog
    var locate: (String) -> String? = { ProgramLocator.find($0) }

    /// Most tables whose rows are counted.
    static let countedTables = 50

    /// The throw-away database's name: unique per run, never a name a person chose.
    var temporaryName: String {
        if source.engine == .sqlite { return scratch + "/drill-\(abs(source.name.hashValue)).sqlite" }
        let suffix = runID.lowercased().filter { $0.isLetter || $0.isNumber }
        return "mzpanel_drill_" + String(suffix.suffix(24))
    }

    func perform(restic: Restic, repository: ResticRepository, snapshotID: String, assertions: [SQLAssertion], evidence: inout DrillEvidence) async {
        let label = "\(source.engine.rawValue) \(source.name)"
        var record = DrillDatabase(engine: source.engine, name: source.name, loaded: false)
        guard source.name != "*" else {
            evidence.checks.append(
                DrillCheck(
                    name: "\(label) loads", passed: false,
                    detail: "a dump of all databases cannot be loaded into a throw-away database; dump each database in its own source to drill it"))
            evidence.databases.append(record)
            return
        }
        let target = DatabaseRestore(engine: source.engine, name: source.name, into: temporaryName, connection: source.connection)
        let restorer = DatabaseRestorer(restore: target, overwrite: false, log: log, locate: locate)
        let started = Date()
        defer { drop() }
        do {
            log("drill: loading \(label) into the throw-away database \(source.engine == .sqlite ? "file" : temporaryName)")
            try await restorer.load(restic: restic, repository: repository, snapshotID: snapshotID)
            record.loaded = true
            record.seconds = Date().timeIntervalSince(started)
            evidence.restoreSeconds += record.seconds ?? 0
            evidence.checks.append(DrillCheck(name: "\(label) loads", passed: true, detail: String(format: "loaded in %.1f s", record.seconds ?? 0)))
        } catch {
            evidence.checks.append(DrillCheck(name: "\(label) loads", passed: false, detail: DestinationCopy.words(error)))
            evidence.databases.append(record)
            return
        }
        do {
            let tables = try tableNames()
            record.tables = tables.count
            var rows: [String: Int64] = [:]
            for table in tables.prefix(Self.countedTables) {
                rows[table] = Int64(try number(query(forCount: table)))
            }
            record.rows = rows
        } catch {
            evidence.checks.append(DrillCheck(name: "\(label) tables counted", passed: false, detail: DestinationCopy.words(error)))
        }
        evidence.databases.append(record)
        for assertion in assertions {
            let name = "\(label): \(assertion.text)"
            do {
                let value = try number(assertion.query, readOnly: true)
                let held = assertion.comparison.holds(value, assertion.value)
                evidence.checks.append(
                    DrillCheck(
                        name: name, passed: held,
                        detail: "the query answered \(Self.format(value))"
                            + (held ? "" : ", not \(assertion.comparison.rawValue) \(Self.format(assertion.value))")))
            } catch {
                evidence.checks.append(DrillCheck(name: name, passed: false, detail: DestinationCopy.words(error)))
            }
        }
    }

    static func format(_ value: Double) -> String { value.rounded() == value && abs(value) < 1e15 ? String(Int64(value)) : String(value) }

    /// The client and its connection arguments for the throw-away database (nil database: the server's maintenance one).
    func client(database: String?) throws -> (String, [String]) {
        let connection = try DatabaseConnection.parse(source.connection)
        switch source.engine {
        case .postgresql:
            guard let psql = locate("psql") else { throw AgentError("psql is not installed; install the postgresql-client package") }
            var base = ["--no-password", "-X", "-q", "-v", "ON_ERROR_STOP=1"]
            if let host = connection.socket ?? connection.host { base += ["-h", DumpCommand.postgresSocketDirectory(host)] }
            if let port = connection.port ?? DumpCommand.postgresSocketPort(connection.socket) { base += ["-p", String(port)] }
            if let user = connection.user { base += ["-U", user] }
            return (psql, base + ["-d", database.map(DatabaseRestorer.conninfo(database:)) ?? "postgres"])
        case .mysql, .mariadb:
            let candidates = source.engine == .mariadb ? ["mariadb", "mysql"] : ["mysql", "mariadb"]
            guard let client = candidates.compactMap(locate).first else { throw AgentError("neither mariadb nor mysql is installed") }
            var base: [String] = ["--sandbox", "-N", "-B"]
            if let socket = connection.socket { base.append("--socket=\(socket)") }
            if let host = connection.host { base.append("--host=\(host)") }
            if let port = connection.port { base.append("--port=\(port)") }
            if let user = connection.user { base.append("--user=\(user)") }
            if let database { base.append("--database=\(database)") }
            return (client, base)
        case .sqlite:
            guard let sqlite = locate("sqlite3") else { throw AgentError("sqlite3 is not installed; install the sqlite3 package") }
            return (sqlite, ["-bail", "-safe", "-readonly", temporaryName])
        }
    }

    /// Runs one statement in the throw-away database; its trimmed output.
    func query(_ sql: String, readOnly: Bool = false) throws -> String {
        let (program, base) = try client(database: temporaryName)
        switch source.engine {
        case .postgresql:
            if readOnly {
                return try DatabaseRestorer.tool(
                    program, base + ["-At", "-c", "BEGIN TRANSACTION READ ONLY", "-c", sql, "-c", "ROLLBACK"])
            }
            return try DatabaseRestorer.tool(program, base + ["-At", "-c", sql])
        case .mysql, .mariadb:
            let statement = readOnly ? "SET SESSION TRANSACTION READ ONLY; START TRANSACTION READ ONLY; \(sql); ROLLBACK" : sql
            return try DatabaseRestorer.tool(program, base + ["-e", statement])
        case .sqlite:
            return try DatabaseRestorer.tool(program, base + [sql])
        }
    }

    /// The first value of a query's answer as a number.
    func number(_ sql: String, readOnly: Bool = false) throws -> Double {
        let output = try query(sql, readOnly: readOnly)
        let first = output.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.first {
            !$0.isEmpty && $0 != "BEGIN" && $0 != "ROLLBACK"
        }
        guard let first, let value = Double(first.split(separator: "\t").first.map(String.init) ?? first) else {
            throw AgentError("the query did not answer a number (its first value must be one, e.g. SELECT count(*) FROM orders)")
        }
        return value
    }

    /// The throw-away database's tables (schema-qualified for PostgreSQL), quoted for a count.
    func tableNames() throws -> [String] {
        let sql: String
        switch source.engine {
        case .postgresql:
            sql =
                "SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1"
        case .mysql, .mariadb:
            sql =
                "SELECT CONCAT('`', REPLACE(table_name, '`', '``'), '`') FROM information_schema.tables WHERE table_schema = DATABASE() AND table_type = 'BASE TABLE' ORDER BY 1"
        case .sqlite:
            sql = "SELECT '\"' || replace(name, '\"', '\"\"') || '\"' FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY 1"
        }
        return try query(sql).split(whereSeparator: \.isNewline).map(String.init).filter { !$0.isEmpty }
    }

    func query(forCount table: String) -> String { "SELECT count(*) FROM \(table)" }

    /// Drops the throw-away database (SQLite: its file goes with the scratch directory).
    func drop() {
        switch source.engine {
        case .postgresql:
            guard let found = try? client(database: nil) else { return }
            let identifier = "\"" + temporaryName.replacingOccurrences(of: "\"", with: "\"\"") + "\""
            if (try? DatabaseRestorer.tool(found.0, found.1 + ["-c", "DROP DATABASE IF EXISTS \(identifier) WITH (FORCE)"])) == nil {
                log("drill: could not drop the throw-away database \(temporaryName); drop it by hand")
            }
        case .mysql, .mariadb:
            guard let found = try? client(database: nil) else { return }
            if (try? DatabaseRestorer.tool(found.0, found.1 + ["-e", "DROP DATABASE IF EXISTS `\(temporaryName)`"])) == nil {
                log("drill: could not drop the throw-away database \(temporaryName); drop it by hand")
            }
        case .sqlite:
            try? FileManager.default.removeItem(atPath: temporaryName)
        }
    }
}
