import Foundation
import Testing

/// Database drills: the dump is loaded into a throw-away database, counted, asserted on and dropped.
extension DatabaseEndToEndTests {
    @Test("PostgreSQL: a drill loads the dump into a throw-away database, counts it, runs SQL assertions and drops it")
    func postgresqlDrill() async throws {
        try await DatabaseTools.requireUsable()
        let name = DatabaseTools.uniqueName()
        try await withCleanup {
            try await PostgreSQL.exec("postgres", "create database \(name)")
            try await PostgreSQL.exec(
                name,
                """
                create table customers (id int primary key, name text not null);
                insert into customers select g, 'customer ' || g from generate_series(1, 3) g;
                create table orders (id int primary key, customer_id int not null references customers(id), total numeric(10,2));
                insert into orders select g, (g % 3) + 1, g * 1.5 from generate_series(1, 25) g;
                """)
            let fleet = try await Fleet()
            defer { fleet.shutdown() }
            let agent = try await fleet.enroll("db-1")
            _ = try fleet.startDaemon(agent)
            _ = try await addLocalDestination(fleet)
            _ = try await addJob(fleet, "shopdb", kind: "database", arguments: ["--database", "postgresql:\(name)@/var/run/postgresql"])
            let run = try await fleet.cli.run(["jobs", "run", "shopdb", "--wait", "--json"])
            try #require(run.object["status"] as? String == "succeeded", "\(run.stdout)\(run.stderr)")

            let passing = try await fleet.cli.run(["jobs", "drill", "shopdb", "--sql", "SELECT count(*) FROM orders >= 10", "--wait", "--json"])
            #expect(passing.status == 0, "\(passing.stdout)\(passing.stderr)")
            let evidence = (passing.object["results"] as? [[String: Any]])?.first?["drill"] as? [String: Any] ?? [:]
            let database = (evidence["databases"] as? [[String: Any]])?.first ?? [:]
            #expect(database["loaded"] as? Bool == true, "\(evidence)")
            #expect(database["tables"] as? Int == 2, "\(database)")
            let rows = database["rows"] as? [String: Any] ?? [:]
            #expect(rows["public.orders"] as? Int == 25, "\(rows)")
            #expect(rows["public.customers"] as? Int == 3, "\(rows)")
            let checks = evidence["checks"] as? [[String: Any]] ?? []
            let assertion = checks.first { ($0["name"] as? String)?.contains("SELECT count(*) FROM orders >= 10") == true }
            #expect(assertion?["passed"] as? Bool == true, "\(checks)")
            #expect(checks.contains { ($0["name"] as? String) == "postgresql \(name) loads" && $0["passed"] as? Bool == true }, "\(checks)")

            let failing = try await fleet.cli.run(["jobs", "drill", "shopdb", "--sql", "SELECT count(*) FROM orders >= 1000", "--wait", "--json"])
            #expect(failing.status == 1, "\(failing.stdout)\(failing.stderr)")
            #expect(failing.object["status"] as? String == "failed")
            let failedChecks =
                ((failing.object["results"] as? [[String: Any]])?.first?["drill"] as? [String: Any])?["checks"] as? [[String: Any]] ?? []
            let failed = failedChecks.first { $0["passed"] as? Bool == false }
            #expect((failed?["name"] as? String)?.contains("SELECT count(*) FROM orders >= 1000") == true, "\(failedChecks)")
            #expect((failed?["detail"] as? String)?.contains("answered 25") == true, "\(String(describing: failed))")

            // Every throw-away database was dropped; the real one is untouched.
            #expect(try await PostgreSQL.value("postgres", "select count(*) from pg_database where datname like 'mzpanel_drill_%'") == "0")
            #expect(try await PostgreSQL.value(name, "select count(*) from orders") == "25")
        } cleanup: {
            try? await PostgreSQL.exec("postgres", "drop database if exists \(name) with (force)")
        }
    }

    @Test("MariaDB: a drill loads the dump into a throw-away database, counts it, asserts on it and drops it")
    func mariadbDrill() async throws {
        try await DatabaseTools.requireUsable()
        let name = DatabaseTools.uniqueName()
        try await withCleanup {
            try await MariaDB.exec(nil, "create database \(name)")
            try await MariaDB.exec(
                name,
                """
                create table items (id int primary key, label varchar(40) not null);
                insert into items values (1, 'one'), (2, 'two'), (3, 'three'), (4, 'four');
                """)
            let fleet = try await Fleet()
            defer { fleet.shutdown() }
            let agent = try await fleet.enroll("db-1")
            _ = try fleet.startDaemon(agent)
            _ = try await addLocalDestination(fleet)
            _ = try await addJob(fleet, "stock", kind: "database", arguments: ["--database", "mariadb:\(name)@/run/mysqld/mysqld.sock"])
            let run = try await fleet.cli.run(["jobs", "run", "stock", "--wait", "--json"])
            try #require(run.object["status"] as? String == "succeeded", "\(run.stdout)\(run.stderr)")

            let drill = try await fleet.cli.run([
                "jobs", "drill", "stock", "--sql", "SELECT count(*) FROM items = 4", "--sql", "SELECT max(id) FROM items > 10", "--wait", "--json",
            ])
            #expect(drill.status == 1, "one of the two assertions fails: \(drill.stdout)\(drill.stderr)")
            let evidence = (drill.object["results"] as? [[String: Any]])?.first?["drill"] as? [String: Any] ?? [:]
            let database = (evidence["databases"] as? [[String: Any]])?.first ?? [:]
            #expect(database["loaded"] as? Bool == true, "\(evidence)")
            #expect(database["tables"] as? Int == 1, "\(database)")
            let checks = evidence["checks"] as? [[String: Any]] ?? []
            let count = checks.first { ($0["name"] as? String)?.hasSuffix("SELECT count(*) FROM items = 4") == true }
            let maximum = checks.first { ($0["name"] as? String)?.hasSuffix("SELECT max(id) FROM items > 10") == true }
            #expect(count?["passed"] as? Bool == true, "\(checks)")
            #expect(maximum?["passed"] as? Bool == false, "\(checks)")
            #expect((maximum?["detail"] as? String)?.contains("answered 4") == true, "\(String(describing: maximum))")
            #expect(try await MariaDB.value(name, "select count(*) from information_schema.schemata where schema_name like 'mzpanel_drill_%'") == "0")
        } cleanup: {
            try? await MariaDB.exec(nil, "drop database if exists \(name)")
        }
    }
}
