import Foundation
import Testing

/// Database jobs end to end: a real hub, an enrolled agent running as root, real PostgreSQL and
/// MariaDB reached over their local sockets with peer authentication, real restic. The dumps are
/// restored from restic into new databases and compared row by row (checksums).
///
/// Runs when both servers answer `root` over their sockets (`scripts/test` installs and starts
/// them and exports MZPANEL_TEST_DATABASES=1). With CI=true or MZPANEL_TEST_DATABASES=1 the suite
/// is required: if the databases are not usable, it fails instead of being skipped.
@Suite(
    "database dumps end to end", .serialized,
    .enabled("mzpanel, mzpanel-agent or restic is missing, or PostgreSQL/MariaDB are not usable as root over their sockets (run scripts/test)") {
        guard Fleet.available else { return false }
        return DatabaseTools.required ? true : await DatabaseTools.problem() == nil
    })
struct DatabaseEndToEndTests {
    // MARK: PostgreSQL

    @Test("a PostgreSQL database job streams pg_dump into restic and restores identically")
    func postgresqlDump() async throws {
        try await DatabaseTools.requireUsable()
        let name = DatabaseTools.uniqueName()
        let restored = name + "_restored"
        try await withCleanup {
            try await PostgreSQL.exec("postgres", "create database \(name)")
            try await PostgreSQL.exec(
                name,
                """
                create table customers (id int primary key, name text not null, email text, created timestamptz not null);
                insert into customers
                  select g, 'customer ' || g, 'user' || g || '@example.com', timestamptz '2020-01-01 00:00:00+00' + g * interval '1 minute'
                  from generate_series(1, 100000) g;
                create table orders (id bigint primary key, customer_id int not null references customers(id), amount numeric(12,2), note text);
                insert into orders
                  select g, (g % 100000) + 1, (g * 37 % 100000) / 100.0, case when g % 7 = 0 then null else md5(g::text) end
                  from generate_series(1, 120000) g;
                """)
            let tables = ["customers": 100_000, "orders": 120_000]

            let fleet = try await Fleet()
            defer { fleet.shutdown() }
            let agent = try await fleet.enroll("db-1")
            _ = try fleet.startDaemon(agent)
            let base = try await addLocalDestination(fleet)
            let jobID = try await addJob(fleet, "pg", kind: "database", arguments: ["--database", "postgresql:\(name)@/var/run/postgresql"])
            try await waitForJob(fleet, agent, jobID)

            let run = try await agent.run(["run", jobID, "--trigger", "manual"])
            #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
            try await expectHubRun(fleet, job: "pg", status: "succeeded")
            try await expectHubSnapshots(fleet, job: "pg", count: 1, copies: 1)

            let repository = try ResticRepo(fleet: fleet, agent: agent, base: base)
            let filename = "postgresql-\(name).sql"
            let snapshots = try await Restic.snapshots(
                repository: repository.path, passwordFile: repository.passwordFile, tag: "source=db-postgresql-\(name)")
            try #require(snapshots.count == 1, "restic should hold one snapshot of the dump: \(snapshots)")
            let snapshot = snapshots[0]
            #expect((snapshot["paths"] as? [String]) == ["/" + filename], "\(snapshot)")
            #expect(((snapshot["tags"] as? [String]) ?? []).contains("job=\(jobID)"))
            #expect((snapshot["hostname"] as? String) == agent.serverID)
            let snapshotID = try #require(snapshot["id"] as? String)

            try await PostgreSQL.exec("postgres", "create database \(restored)")
            let restore = try await repository.dump(
                snapshotID, "/" + filename,
                into: ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", "/var/run/postgresql", "-d", restored])
            #expect(restore.status == 0, "restoring the dump failed: \(restore.stderr)")
            for (table, rows) in tables.sorted(by: { $0.key < $1.key }) {
                let original = try await PostgreSQL.value(name, "select count(*) from \(table)")
                let copy = try await PostgreSQL.value(restored, "select count(*) from \(table)")
                #expect(original == String(rows))
                #expect(copy == original, "row count of \(table)")
                let checksum = "select md5(string_agg(t::text, ',' order by id)) from \(table) t"
                let originalSum = try await PostgreSQL.value(name, checksum)
                let copySum = try await PostgreSQL.value(restored, checksum)
                #expect(originalSum.count == 32)
                #expect(copySum == originalSum, "checksum of \(table)")
            }
            // The foreign key came back too.
            let constraints = try await PostgreSQL.value(
                restored, "select count(*) from pg_constraint where contype = 'f' and conrelid = 'orders'::regclass")
            #expect(constraints == "1")
        } cleanup: {
            for database in [name, restored] { try? await PostgreSQL.exec("postgres", "drop database if exists \(database)") }
        }
    }

    // MARK: MariaDB

    @Test("a MariaDB full job backs up the files and the database dump, which restores identically")
    func mariadbFullJob() async throws {
        try await DatabaseTools.requireUsable()
        let name = DatabaseTools.uniqueName()
        let restored = name + "_restored"
        try await withCleanup {
            try await MariaDB.exec(nil, "create database \(name)")
            try await MariaDB.exec(
                name,
                """
                set session max_recursive_iterations = 1000000;
                create table products (id int primary key, name varchar(64) not null, price decimal(10,2), payload text) engine=InnoDB;
                insert into products
                  with recursive seq(n) as (select 1 union all select n + 1 from seq where n < 100000)
                  select n, concat('product ', n), (n % 100000) / 100, if(n % 5 = 0, null, md5(n)) from seq;
                create table stock (id int primary key, product_id int not null, quantity int not null, updated datetime not null,
                                    foreign key (product_id) references products(id)) engine=InnoDB;
                insert into stock
                  with recursive seq(n) as (select 1 union all select n + 1 from seq where n < 30000)
                  select n, n * 3, n % 97, timestamp '2024-01-01 00:00:00' + interval n second from seq;
                """)
            let tables = ["products": 100_000, "stock": 30_000]

            let fleet = try await Fleet()
            defer { fleet.shutdown() }
            let agent = try await fleet.enroll("db-1")
            _ = try fleet.startDaemon(agent)
            let base = try await addLocalDestination(fleet)
            let tree = try fleet.makeTree("site")
            let jobID = try await addJob(
                fleet, "shop", kind: "full",
                arguments: ["--path", tree.path, "--database", "mariadb:\(name)@/run/mysqld/mysqld.sock"])
            try await waitForJob(fleet, agent, jobID)

            let run = try await agent.run(["run", jobID, "--trigger", "manual"])
            #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
            try await expectHubRun(fleet, job: "shop", status: "succeeded")
            try await expectHubSnapshots(fleet, job: "shop", count: 1, copies: 1)

            let repository = try ResticRepo(fleet: fleet, agent: agent, base: base)
            let files = try await Restic.snapshots(repository: repository.path, passwordFile: repository.passwordFile, tag: "source=files")
            #expect(files.count == 1, "restic should hold one snapshot of the files: \(files)")
            #expect((files.first?["paths"] as? [String]) == [tree.path])
            let filename = "mariadb-\(name).sql"
            let dumps = try await Restic.snapshots(
                repository: repository.path, passwordFile: repository.passwordFile, tag: "source=db-mariadb-\(name)")
            try #require(dumps.count == 1, "restic should hold one snapshot of the dump: \(dumps)")
            #expect((dumps[0]["paths"] as? [String]) == ["/" + filename], "\(dumps[0])")
            let snapshotID = try #require(dumps[0]["id"] as? String)

            try await MariaDB.exec(nil, "create database \(restored)")
            let restore = try await repository.dump(snapshotID, "/" + filename, into: ["mariadb", "--batch", restored])
            #expect(restore.status == 0, "restoring the dump failed: \(restore.stderr)")
            for (table, rows) in tables.sorted(by: { $0.key < $1.key }) {
                let original = try await MariaDB.value(name, "select count(*) from \(table)")
                let copy = try await MariaDB.value(restored, "select count(*) from \(table)")
                #expect(original == String(rows))
                #expect(copy == original, "row count of \(table)")
                // CHECKSUM TABLE prints "db.table <checksum>"; the database names differ.
                let originalSum = try await MariaDB.value(name, "checksum table \(table) extended").split(separator: "\t").last.map(String.init)
                let copySum = try await MariaDB.value(restored, "checksum table \(table) extended").split(separator: "\t").last.map(String.init)
                #expect(originalSum != nil && originalSum != "NULL")
                #expect(copySum == originalSum, "CHECKSUM TABLE of \(table)")
            }
        } cleanup: {
            for database in [name, restored] { try? await MariaDB.exec(nil, "drop database if exists \(database)") }
        }
    }

    // MARK: Failures

    @Test(
        "a dump that cannot connect fails the run in plain words and leaves no snapshot behind",
        arguments: [
            BrokenSource(engine: "postgresql", name: "nosuchdb", spec: "postgresql:nosuchdb@127.0.0.1:1", program: "pg_dump"),
            BrokenSource(
                engine: "mariadb", name: "mzt_no_such_database", spec: "mariadb:mzt_no_such_database@/run/mysqld/mysqld.sock",
                program: "mariadb-dump"),
        ])
    func brokenConnection(_ source: BrokenSource) async throws {
        try await DatabaseTools.requireUsable()
        let fleet = try await Fleet()
        defer { fleet.shutdown() }
        let agent = try await fleet.enroll("db-1")
        _ = try fleet.startDaemon(agent)
        let base = try await addLocalDestination(fleet)
        let jobID = try await addJob(fleet, "broken", kind: "database", arguments: ["--database", source.spec])
        try await waitForJob(fleet, agent, jobID)

        let run = try await agent.run(["run", jobID, "--trigger", "manual"])
        #expect(run.status != 0, "a failed dump must fail the run: \(run.stdout)\(run.stderr)")
        let hubRun = try await expectHubRun(fleet, job: "broken", status: "failed")
        let results = (hubRun?["results"] as? [[String: Any]]) ?? []
        #expect(results.count == 1, "one destination result: \(hubRun ?? [:])")
        let error = try #require(results.first?["error"] as? String, "the destination's error: \(hubRun ?? [:])")
        #expect(results.first?["status"] as? String == "failed")
        #expect(error.hasPrefix("database \(source.engine) \(source.name): "), "\(error)")
        #expect(error.contains(source.program) && error.contains("was not backed up"), "the error should say the dump failed: \(error)")
        #expect(error.contains("the partial snapshot was removed") || error.contains("no snapshot was kept"), "\(error)")
        #expect(!error.contains("{") && !error.contains("Fatal") && !error.contains("panic"), "no restic internals: \(error)")
        #expect(!error.contains("RESTIC_") && !error.contains("repository-passwords"), "no secrets or paths to secrets: \(error)")
        try await expectHubSnapshots(fleet, job: "broken", count: 0, copies: nil)

        let repository = try ResticRepo(fleet: fleet, agent: agent, base: base)
        let all = try await repository.restic(["snapshots", "--json"])
        #expect(all.status == 0, "the repository must stay readable: \(all.stderr)")
        let left = (all.json as? [[String: Any]]) ?? []
        #expect(left.isEmpty, "no snapshot of the failed dump may remain: \(left)")
        #expect(try await Restic.check(repository: repository.path, passwordFile: repository.passwordFile) == 0)
    }

    struct BrokenSource: Sendable, CustomTestStringConvertible {
        let engine: String
        let name: String
        let spec: String
        let program: String
        var testDescription: String { spec }
    }

    // MARK: Helpers

    func addLocalDestination(_ fleet: Fleet) async throws -> URL {
        let base = fleet.directory.appendingPathComponent("repos")
        let added = try await fleet.cli.run(["destinations", "add", "here", "--kind", "local", "--path", base.path])
        #expect(added.status == 0, "\(added.stderr)")
        return base
    }

    func addJob(_ fleet: Fleet, _ name: String, kind: String, arguments: [String]) async throws -> String {
        let job = try await fleet.cli.run(
            ["jobs", "add", name, "--server", "db-1", "--kind", kind] + arguments + [
                "--schedule", "daily 03:00", "--keep-last", "3", "--destination", "here", "--json",
            ])
        try #require(job.status == 0, "\(job.stdout)\(job.stderr)")
        return try #require(job.object["id"] as? String)
    }

    func waitForJob(_ fleet: Fleet, _ agent: Fleet.Agent, _ jobID: String) async throws {
        let known = try await fleet.eventually(30) {
            try await agent.run(["status", "--json"]).stdout.contains(jobID)
        }
        try #require(known, "the agent never learned job \(jobID)")
    }

    /// Waits for the job's single run to reach `status` in the hub and returns it.
    @discardableResult
    func expectHubRun(_ fleet: Fleet, job: String, status: String) async throws -> [String: Any]? {
        var last: [[String: Any]] = []
        let reached = try await fleet.eventually(30) {
            let runs = try await fleet.cli.run(["runs", "list", "--job", job, "--json"])
            last = (runs.object["runs"] as? [[String: Any]]) ?? []
            return last.count == 1 && (last[0]["status"] as? String) == status
        }
        #expect(reached, "the hub should list one \(status) run of \(job): \(last)")
        return last.first
    }

    func expectHubSnapshots(_ fleet: Fleet, job: String, count: Int, copies: Int?) async throws {
        let listed = try await fleet.cli.run(["snapshots", "list", "--job", job, "--json"])
        #expect(listed.status == 0, "\(listed.stderr)")
        let snapshots = (listed.object["snapshots"] as? [[String: Any]]) ?? []
        #expect(snapshots.count == count, "the hub should list \(count) snapshot(s): \(listed.stdout)")
        if let copies {
            #expect(snapshots.allSatisfy { ($0["copies"] as? [Any])?.count == copies }, "\(listed.stdout)")
        }
    }

    /// Runs `body`, then `cleanup` whether or not it threw (async, so not a `defer`).
    func withCleanup(_ body: () async throws -> Void, cleanup: () async -> Void) async throws {
        do {
            try await body()
        } catch {
            await cleanup()
            throw error
        }
        await cleanup()
    }
}

/// Whether the local database servers are usable as root over their sockets.
enum DatabaseTools {
    static var environment: [String: String] { ProcessInfo.processInfo.environment }

    /// CI (or scripts/test, which checked) says the databases are there: missing ones are a failure.
    static var required: Bool {
        environment["CI"] == "true" || environment["MZPANEL_TEST_DATABASES"] == "1"
    }

    /// nil when PostgreSQL and MariaDB both answer; otherwise what is wrong, in words.
    static func problem() async -> String? {
        for program in ["psql", "pg_dump", "mariadb", "mariadb-dump"] where locate(program) == nil {
            return "\(program) is not installed (postgresql-client, mariadb-client)"
        }
        guard Restic.installed else { return "restic is not installed" }
        let postgres = try? await PostgreSQL.run("postgres", "select 1")
        guard let postgres, postgres.status == 0, postgres.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "1" else {
            return "PostgreSQL does not answer \(NSUserName()) over /var/run/postgresql (peer authentication needs a superuser role: "
                + "su postgres -c 'createuser -s \(NSUserName())'): \(postgres?.stderr ?? "psql could not run")"
        }
        let mariadb = try? await MariaDB.run(nil, "select 1")
        guard let mariadb, mariadb.status == 0 else {
            return "MariaDB does not answer \(NSUserName()) over /run/mysqld/mysqld.sock (start it: /etc/init.d/mariadb start): "
                + (mariadb?.stderr ?? "mariadb could not run")
        }
        return nil
    }

    /// Fails the test with a clear message when the databases are required but not usable.
    static func requireUsable() async throws {
        let problem = await problem()
        try #require(
            problem == nil,
            """
            the database end-to-end tests are required here (CI=\(environment["CI"] ?? "") \
            MZPANEL_TEST_DATABASES=\(environment["MZPANEL_TEST_DATABASES"] ?? "")) but cannot run: \(problem ?? ""). \
            scripts/test installs and starts PostgreSQL and MariaDB and gives root a PostgreSQL role.
            """)
    }

    static func locate(_ program: String) -> URL? {
        let path = (environment["PATH"] ?? "") + ":/usr/bin:/bin:/usr/local/bin:/usr/sbin"
        return path.split(separator: ":").map { URL(fileURLWithPath: String($0)).appendingPathComponent(program) }
            .first { FileManager.default.isExecutableFile(atPath: $0.path) }
    }

    static func runner(_ program: String) throws -> CommandRunner {
        CommandRunner(binary: try #require(locate(program), "\(program) is not installed"), environment: environment)
    }

    /// `mzt_<random>`: lower case, a valid name for both engines and for the job's source.
    static func uniqueName() -> String {
        "mzt_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(10).lowercased()
    }
}

enum PostgreSQL {
    static func run(_ database: String, _ sql: String) async throws -> CommandResult {
        try await DatabaseTools.runner("psql").run([
            "-X", "-A", "-t", "-q", "-v", "ON_ERROR_STOP=1", "-h", "/var/run/postgresql", "-d", database, "-c", sql,
        ])
    }

    static func exec(_ database: String, _ sql: String) async throws {
        let result = try await run(database, sql)
        try #require(result.status == 0, "psql \(database): \(result.stderr)")
    }

    static func value(_ database: String, _ sql: String) async throws -> String {
        let result = try await run(database, sql)
        try #require(result.status == 0, "psql \(database): \(result.stderr)")
        return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

enum MariaDB {
    static func run(_ database: String?, _ sql: String) async throws -> CommandResult {
        try await DatabaseTools.runner("mariadb").run(
            ["--batch", "--skip-column-names", "--socket=/run/mysqld/mysqld.sock"] + (database.map { [$0] } ?? []) + ["-e", sql])
    }

    static func exec(_ database: String?, _ sql: String) async throws {
        let result = try await run(database, sql)
        try #require(result.status == 0, "mariadb \(database ?? ""): \(result.stderr)")
    }

    static func value(_ database: String, _ sql: String) async throws -> String {
        let result = try await run(database, sql)
        try #require(result.status == 0, "mariadb \(database): \(result.stderr)")
        return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

/// The agent's repository on the local destination, opened with the password the agent generated.
struct ResticRepo {
    let path: String
    let passwordFile: String

    init(fleet: Fleet, agent: Fleet.Agent, base: URL) throws {
        path = base.appendingPathComponent(agent.serverID).path
        let passwords = agent.stateDir.appendingPathComponent("repository-passwords").path
        let files = try FileManager.default.contentsOfDirectory(atPath: passwords)
        try #require(files.count == 1, "one repository password expected: \(files)")
        passwordFile = passwords + "/" + files[0]
    }

    var environment: [String: String] {
        ["PATH": "/usr/bin:/bin", "HOME": NSTemporaryDirectory(), "RESTIC_PASSWORD_FILE": passwordFile]
    }

    func restic(_ arguments: [String]) async throws -> CommandResult {
        try await CommandRunner(binary: URL(fileURLWithPath: "/usr/bin/restic"), environment: environment).run(["-r", path] + arguments)
    }

    /// `restic dump <snapshot> <file> | <command…>` through a real pipe (the dump never sits in
    /// memory or on disk); fails when either side fails.
    func dump(_ snapshotID: String, _ file: String, into command: [String]) async throws -> CommandResult {
        var environment = ProcessInfo.processInfo.environment
        environment["RESTIC_PASSWORD_FILE"] = passwordFile
        let script = #"set -o pipefail; repo="$1" id="$2" file="$3"; shift 3; /usr/bin/restic -q -r "$repo" dump "$id" "$file" | "$@" >/dev/null"#
        return try await CommandRunner(binary: URL(fileURLWithPath: "/bin/bash"), environment: environment)
            .run(["-c", script, "restore", path, snapshotID, file] + command)
    }
}
