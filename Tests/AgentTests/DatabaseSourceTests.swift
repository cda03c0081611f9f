import BackupCore
import Foundation
import Testing

@testable import Agent

@Suite("Database connections")
struct DatabaseConnectionTests {
    @Test(
        "the accepted forms",
        arguments: [
            (nil, DatabaseConnection()),
            ("", DatabaseConnection()),
            ("db.internal", DatabaseConnection(host: "db.internal")),
            ("db.internal:5433", DatabaseConnection(host: "db.internal", port: 5433)),
            ("backup@db.internal", DatabaseConnection(host: "db.internal", user: "backup")),
            ("backup@127.0.0.1:3306", DatabaseConnection(host: "127.0.0.1", port: 3306, user: "backup")),
            ("[::1]:5432", DatabaseConnection(host: "::1", port: 5432)),
            ("postgres@[::1]", DatabaseConnection(host: "::1", user: "postgres")),
            ("/run/postgresql", DatabaseConnection(socket: "/run/postgresql")),
            ("root@/run/mysqld/mysqld.sock", DatabaseConnection(user: "root", socket: "/run/mysqld/mysqld.sock")),
        ] as [(String?, DatabaseConnection)])
    func parses(text: String?, expected: DatabaseConnection) throws {
        #expect(try DatabaseConnection.parse(text) == expected)
    }

    @Test(
        "passwords, bad ports and option-like values are refused",
        arguments: [
            "user:secret@host", "host:99999", "host:abc", "-oProxy@host", "@host", "host name", "[::1",
        ])
    func refuses(text: String) {
        #expect(throws: AgentError.self) { try DatabaseConnection.parse(text) }
    }
}

@Suite("Dump commands")
struct DumpCommandTests {
    static func locate(_ available: Set<String>) -> (String) -> String? {
        { available.contains($0) ? "/usr/bin/\($0)" : nil }
    }

    @Test("PostgreSQL: pg_dump of one database, pg_dumpall for all")
    func postgres() throws {
        let locate = Self.locate(["pg_dump", "pg_dumpall"])
        let one = try DumpCommand.make(for: DatabaseSource(engine: .postgresql, name: "shop", connection: "backup@db:5433"), locate: locate)
        #expect(
            one
                == DumpCommand(
                    executable: "/usr/bin/pg_dump",
                    arguments: ["--format=plain", "--no-password", "-h", "db", "-p", "5433", "-U", "backup", "--dbname=dbname='shop'"]))
        let local = try DumpCommand.make(for: DatabaseSource(engine: .postgresql, name: "shop"), locate: locate)
        #expect(local.arguments == ["--format=plain", "--no-password", "--dbname=dbname='shop'"])
        let all = try DumpCommand.make(
            for: DatabaseSource(engine: .postgresql, name: "*", connection: "/run/postgresql/.s.PGSQL.5434"), locate: locate)
        #expect(all == DumpCommand(executable: "/usr/bin/pg_dumpall", arguments: ["--no-password", "-h", "/run/postgresql", "-p", "5434"]))
    }

    @Test("MySQL/MariaDB: whichever dump tool exists, single transaction, routines, events")
    func mysql() throws {
        let source = DatabaseSource(engine: .mariadb, name: "shop", connection: "backup@db:3307")
        let withMariaDB = try DumpCommand.make(for: source, locate: Self.locate(["mariadb-dump", "mysqldump"]))
        #expect(
            withMariaDB
                == DumpCommand(
                    executable: "/usr/bin/mariadb-dump",
                    arguments: ["--single-transaction", "--routines", "--events", "--host=db", "--port=3307", "--user=backup", "shop"]))
        let onlyMysqldump = try DumpCommand.make(for: source, locate: Self.locate(["mysqldump"]))
        #expect(onlyMysqldump.executable == "/usr/bin/mysqldump")
        let mysqlPrefersMysqldump = try DumpCommand.make(
            for: DatabaseSource(engine: .mysql, name: "*", connection: "/run/mysqld/mysqld.sock"),
            locate: Self.locate(["mariadb-dump", "mysqldump"]))
        #expect(
            mysqlPrefersMysqldump
                == DumpCommand(
                    executable: "/usr/bin/mysqldump",
                    arguments: ["--single-transaction", "--routines", "--events", "--socket=/run/mysqld/mysqld.sock", "--all-databases"]))
        #expect(throws: AgentError.self) { try DumpCommand.make(for: source, locate: Self.locate([])) }
    }

    @Test("SQLite: sqlite3 FILE .dump, read-only, schema read first; a missing file is an error")
    func sqlite() async throws {
        try await withTemporaryDirectory { root in
            let file = root + "/app.db"
            _ = FileManager.default.createFile(atPath: file, contents: Data())
            let command = try DumpCommand.make(for: DatabaseSource(engine: .sqlite, name: file), locate: Self.locate(["sqlite3"]))
            #expect(
                command
                    == DumpCommand(
                        executable: "/usr/bin/sqlite3",
                        arguments: [
                            "-bail", "-readonly", file, ".output /dev/null", "SELECT count(*) FROM sqlite_master;", ".output stdout", ".dump",
                        ]))
            #expect(throws: AgentError.self) {
                try DumpCommand.make(for: DatabaseSource(engine: .sqlite, name: root + "/missing.db"), locate: Self.locate(["sqlite3"]))
            }
        }
    }

    @Test("file names and source tags")
    func names() {
        #expect(DumpCommand.filename(for: DatabaseSource(engine: .postgresql, name: "shop")) == "postgresql-shop.sql")
        #expect(DumpCommand.filename(for: DatabaseSource(engine: .mysql, name: "*")) == "mysql-all.sql")
        #expect(DumpCommand.sourceTag(for: DatabaseSource(engine: .sqlite, name: "/var/lib/app/app.db")) == "db-sqlite-app.db")
        #expect(DumpCommand.sourceTag(for: DatabaseSource(engine: .mariadb, name: "shop")) == "db-mariadb-shop")
    }

    @Test("a database name starting with '-' is refused (it would be read as an option)")
    func optionInjection() {
        #expect(throws: AgentError.self) {
            try DumpCommand.make(for: DatabaseSource(engine: .postgresql, name: "-c"), locate: Self.locate(["pg_dump"]))
        }
    }
}
