import Foundation
import Testing

/// `mzpanel restore --database`: dumps stream back from restic into PostgreSQL and MariaDB — after
/// the database was dropped, into a new name, and not over a non-empty database unless confirmed.
extension DatabaseEndToEndTests {
    /// Row count and checksum of each table, to compare a restored database with the original.
    typealias Fingerprint = [String: String]

    @Test("PostgreSQL: dropped database restored through the hub, then a copy under a new name; a non-empty target needs --overwrite")
    func postgresqlRestore() async throws {
        try await DatabaseTools.requireUsable()
        let name = DatabaseTools.uniqueName()
        let copy = name + "_copy"
        func fingerprint(_ database: String) async throws -> Fingerprint {
            var result: Fingerprint = [:]
            for table in ["accounts", "entries"] {
                result[table] = try await PostgreSQL.value(
                    database, "select count(*) || ':' || md5(string_agg(t::text, ',' order by id)) from \(table) t")
            }
            return result
        }
        try await withCleanup {
            try await PostgreSQL.exec("postgres", "create database \(name)")
            try await PostgreSQL.exec(
                name,
                """
                create table accounts (id int primary key, owner text not null, opened date not null);
                insert into accounts select g, 'owner ' || g, date '2020-01-01' + (g % 1000) from generate_series(1, 20000) g;
                create table entries (id bigint primary key, account_id int not null references accounts(id), amount numeric(14,2), memo text);
                insert into entries select g, (g % 20000) + 1, (g * 13 % 100000) / 100.0, case when g % 3 = 0 then null else 'memo ' || g end
                  from generate_series(1, 110000) g;
                """)
            let before = try await fingerprint(name)
            #expect(before["entries"]?.hasPrefix("110000:") == true)

            let fleet = try await Fleet()
            defer { fleet.shutdown() }
            let agent = try await fleet.enroll("db-1")
            _ = try fleet.startDaemon(agent)
            _ = try await addLocalDestination(fleet)
            _ = try await addJob(fleet, "ledger", kind: "database", arguments: ["--database", "postgresql:\(name)@/var/run/postgresql"])
            let run = try await fleet.cli.run(["jobs", "run", "ledger", "--wait", "--json"])
            let snapshot = try #require((run.object["snapshot"] as? [String: Any])?["id"] as? String, "\(run.stdout)\(run.stderr)")

            try await PostgreSQL.exec("postgres", "drop database \(name)")
            let restored = try await fleet.cli.run(["restore", snapshot, "--database", "postgresql:\(name)@/var/run/postgresql", "--wait"])
            #expect(restored.status == 0, "\(restored.stdout)\(restored.stderr)")
            #expect(try await fingerprint(name) == before)

            let refused = try await fleet.cli.run(["restore", snapshot, "--database", "postgresql:\(name)@/var/run/postgresql", "--wait", "--json"])
            #expect(refused.status != 0)
            let error = ((refused.object["results"] as? [[String: Any]])?.first?["error"] as? String) ?? ""
            #expect(error.contains("exists and has 2 tables"), "\(error)")

            let copied = try await fleet.cli.run(["restore", snapshot, "--database", "postgresql:\(name)=\(copy)@/var/run/postgresql", "--wait"])
            #expect(copied.status == 0, "\(copied.stdout)\(copied.stderr)")
            #expect(try await fingerprint(copy) == before)
            try await PostgreSQL.exec(name, "delete from entries where id > 100")
            let confirmed = try await fleet.cli.run([
                "restore", snapshot, "--database", "postgresql:\(name)@/var/run/postgresql", "--overwrite", "--wait",
            ])
            #expect(confirmed.status == 0, "\(confirmed.stdout)\(confirmed.stderr)")
            #expect(try await fingerprint(name) == before)
        } cleanup: {
            for database in [name, copy] { try? await PostgreSQL.exec("postgres", "drop database if exists \(database) with (force)") }
        }
    }

    @Test("MariaDB: dropped database restored through the hub, and a copy under a new name")
    func mariadbRestore() async throws {
        try await DatabaseTools.requireUsable()
        let name = DatabaseTools.uniqueName()
        let copy = name + "_copy"
        func fingerprint(_ database: String) async throws -> Fingerprint {
            var result: Fingerprint = [:]
            for table in ["items", "moves"] {
                let count = try await MariaDB.value(database, "select count(*) from \(table)")
                let sum = try await MariaDB.value(database, "checksum table \(table) extended").split(separator: "\t").last.map(String.init) ?? ""
                result[table] = count + ":" + sum
            }
            return result
        }
        try await withCleanup {
            try await MariaDB.exec(nil, "create database \(name)")
            try await MariaDB.exec(
                name,
                """
                set session max_recursive_iterations = 1000000;
                create table items (id int primary key, label varchar(64) not null, weight decimal(8,3)) engine=InnoDB;
                insert into items with recursive seq(n) as (select 1 union all select n + 1 from seq where n < 105000)
                  select n, concat('item ', n), (n % 9973) / 7 from seq;
                create table moves (id int primary key, item_id int not null, at datetime not null, foreign key (item_id) references items(id)) engine=InnoDB;
                insert into moves with recursive seq(n) as (select 1 union all select n + 1 from seq where n < 20000)
                  select n, n * 5, timestamp '2024-06-01 00:00:00' + interval n minute from seq;
                """)
            let before = try await fingerprint(name)
            #expect(before["items"]?.hasPrefix("105000:") == true)

            let fleet = try await Fleet()
            defer { fleet.shutdown() }
            let agent = try await fleet.enroll("db-1")
            _ = try fleet.startDaemon(agent)
            _ = try await addLocalDestination(fleet)
            _ = try await addJob(fleet, "stock", kind: "database", arguments: ["--database", "mariadb:\(name)@/run/mysqld/mysqld.sock"])
            let run = try await fleet.cli.run(["jobs", "run", "stock", "--wait", "--json"])
            let snapshot = try #require((run.object["snapshot"] as? [String: Any])?["id"] as? String, "\(run.stdout)\(run.stderr)")

            try await MariaDB.exec(nil, "drop database \(name)")
            let restored = try await fleet.cli.run(["restore", snapshot, "--database", "mariadb:\(name)@/run/mysqld/mysqld.sock", "--wait"])
            #expect(restored.status == 0, "\(restored.stdout)\(restored.stderr)")
            #expect(try await fingerprint(name) == before)
            let copied = try await fleet.cli.run(["restore", snapshot, "--database", "mariadb:\(name)=\(copy)@/run/mysqld/mysqld.sock", "--wait"])
            #expect(copied.status == 0, "\(copied.stdout)\(copied.stderr)")
            #expect(try await fingerprint(copy) == before)
            let refused = try await fleet.cli.run(["restore", snapshot, "--database", "mariadb:\(name)=\(copy)@/run/mysqld/mysqld.sock", "--wait"])
            #expect(refused.status != 0, "a non-empty target needs --overwrite")
        } cleanup: {
            for database in [name, copy] { try? await MariaDB.exec(nil, "drop database if exists \(database)") }
        }
    }
}

/// SQLite: the dump goes back into the same file (after it is lost) and into another file.
extension DatabaseEndToEndTests {
    @Test("SQLite: a lost database file restored through the hub, and a copy into another file; an existing one needs --overwrite")
    func sqliteRestore() async throws {
        let fleet = try await Fleet()
        defer { fleet.shutdown() }
        let agent = try await fleet.enroll("db-1")
        _ = try fleet.startDaemon(agent)
        _ = try await addLocalDestination(fleet)
        let file = fleet.directory.appendingPathComponent("app.sqlite3").path
        let sqlite = CommandRunner(binary: URL(fileURLWithPath: "/usr/bin/sqlite3"), environment: ProcessInfo.processInfo.environment)
        let created = try await sqlite.run([
            file,
            """
            create table notes (id integer primary key, body text not null, at text);
            with recursive seq(n) as (select 1 union all select n + 1 from seq where n < 20000)
            insert into notes select n, 'note ' || n || ' ✓', datetime(1700000000 + n, 'unixepoch') from seq;
            create index notes_at on notes(at);
            """,
        ])
        #expect(created.status == 0, "\(created.stderr)")
        func dump(_ path: String) async throws -> String { try await sqlite.run([path, ".dump"]).stdout }
        let before = try await dump(file)
        #expect(before.contains("note 20000 ✓"))
        _ = try await addJob(fleet, "app", kind: "database", arguments: ["--database", "sqlite:" + file])
        let run = try await fleet.cli.run(["jobs", "run", "app", "--wait", "--json"])
        let snapshot = try #require((run.object["snapshot"] as? [String: Any])?["id"] as? String, "\(run.stdout)\(run.stderr)")

        try FileManager.default.removeItem(atPath: file)
        let restored = try await fleet.cli.run(["restore", snapshot, "--database", "sqlite:" + file, "--wait"])
        #expect(restored.status == 0, "\(restored.stdout)\(restored.stderr)")
        #expect(try await dump(file) == before)
        let copy = fleet.directory.appendingPathComponent("copy.sqlite3").path
        let copied = try await fleet.cli.run(["restore", snapshot, "--database", "sqlite:\(file)=\(copy)", "--wait"])
        #expect(copied.status == 0, "\(copied.stdout)\(copied.stderr)")
        #expect(try await dump(copy) == before)
        let refused = try await fleet.cli.run(["restore", snapshot, "--database", "sqlite:" + file, "--wait", "--json"])
        #expect(refused.status != 0, "the file exists and is not empty")
        let error = ((refused.object["results"] as? [[String: Any]])?.first?["error"] as? String) ?? ""
        #expect(error.contains("--overwrite"), "\(error)")
    }
}
