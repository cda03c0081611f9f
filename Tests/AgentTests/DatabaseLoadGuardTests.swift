import BackupCore
import Foundation
import ResticKit
import Testing

@testable import Agent

/// Whether root reaches PostgreSQL and MariaDB over their sockets (scripts/test sets this up and
/// exports MZPANEL_TEST_DATABASES=1; on CI the suites run and fail loudly instead).
enum DatabaseServers {
    static var enabled: Bool {
        let environment = ProcessInfo.processInfo.environment
        return environment["MZPANEL_TEST_DATABASES"] == "1" || environment["CI"] == "true"
    }
}

/// A dump is data, never a script: restored through restic and the real clients, a dump that
/// carries shell escapes (`\!`, `system`, `.shell`) fails at that line and the command never runs.
@Suite("Database loads run no client commands (real restic and clients)", .serialized, .enabled(if: ResticPresence.usable, "restic is not installed"))
struct DatabaseLoadGuardTests {
    /// Stores `dump` as the dump file `restore` reads, in a fresh repository, and loads it.
    static func load(_ dump: String, _ restore: DatabaseRestore, root: String, overwrite: Bool = false) async throws {
        try SecureFile.write(Data("test-password".utf8), to: root + "/password")
        try Data(dump.utf8).write(to: URL(fileURLWithPath: root + "/dump.sql"))
        let repository = ResticRepository(
            location: root + "/repo", environment: ["RESTIC_PASSWORD_FILE": root + "/password", "RESTIC_CACHE_DIR": root + "/cache"])
        let restic = try await Restic.detect(executable: try #require(ResticPresence.path))
        if !FileManager.default.fileExists(atPath: root + "/repo") { _ = try await restic.initialize(repository) }
        let restorer = DatabaseRestorer(restore: restore, overwrite: overwrite, log: RunLog(echo: false))
        let summary = try await restic.backupStdin(
            repository, filename: restorer.dumpPath, tags: [], host: "test",
            producer: ProducerCommand(executable: "/bin/cat", arguments: [root + "/dump.sql"]),
            progress: { _ in })
        try await restorer.load(restic: restic, repository: repository, snapshotID: summary.snapshotID)
    }

    /// The error a load throws, as text ("" when it succeeded).
    static func failure(_ body: () async throws -> Void) async -> String {
        do {
            try await body()
            return ""
        } catch {
            return "\(error)"
        }
    }

    static func run(_ executable: String, _ arguments: [String]) throws -> String { try DatabaseRestorer.tool(executable, arguments) }

    @Test("SQLite: .shell and .system in a dump are refused (sqlite3 -safe); a clean dump loads", .enabled(if: ProgramLocator.find("sqlite3") != nil))
    func sqlite() async throws {
        try await withTemporaryDirectory { root in
            let database = root + "/restored.db"
            let evil = """
                PRAGMA foreign_keys=OFF;
                BEGIN TRANSACTION;
                CREATE TABLE t(a);
                INSERT INTO t VALUES(1);
                .shell touch \(root)/shell-ran
                .system touch \(root)/system-ran
                INSERT INTO t VALUES(2);
                COMMIT;

                """
            let error = await Self.failure { try await Self.load(evil, DatabaseRestore(engine: .sqlite, name: database), root: root) }
            #expect(error.contains("client command"), "\(error)")
            #expect(!FileManager.default.fileExists(atPath: root + "/shell-ran") && !FileManager.default.fileExists(atPath: root + "/system-ran"))

            let clean = "BEGIN TRANSACTION;\nCREATE TABLE t(a);\nINSERT INTO t VALUES('x\\y');\nCOMMIT;\n"
            try await Self.load(clean, DatabaseRestore(engine: .sqlite, name: database), root: root, overwrite: true)
            #expect(try Self.run(try #require(ProgramLocator.find("sqlite3")), [database, "SELECT a FROM t"]) == "x\\y")
        }
    }

    @Test(
        "PostgreSQL: \\! (own line, after SQL, after the dump's own \\unrestrict) runs nothing; a pg_dump dump with its \\restrict lines loads",
        .enabled(if: DatabaseServers.enabled, "set MZPANEL_TEST_DATABASES=1 with a PostgreSQL superuser role for root (scripts/test does)"))
    func postgresql() async throws {
        try await withTemporaryDirectory { root in
            let psql = try #require(ProgramLocator.find("psql"))
            let name = "mzpanel_guard_\(UInt32.random(in: 0...UInt32.max))"
            defer { _ = try? Self.run(psql, ["-X", "-d", "postgres", "-c", "DROP DATABASE IF EXISTS \(name)"]) }
            let attacks = [
                "CREATE TABLE t (a int);\n\\! touch \(root)/ran-1\n",
                "CREATE TABLE t (a int); \\! touch \(root)/ran-2\n",
                "\\restrict abc\nCREATE TABLE t (a int);\n\\unrestrict abc\n\\! touch \(root)/ran-3\n",
                "CREATE TABLE t (a int);\n\\o |touch \(root)/ran-4\nSELECT 1;\n",
                "\\unrestrict abc\n\\! touch \(root)/ran-5\n",
            ]
            for (index, dump) in attacks.enumerated() {
                let error = await Self.failure {
                    try await Self.load(dump, DatabaseRestore(engine: .postgresql, name: "shop", into: name), root: root, overwrite: true)
                }
                #expect(error.contains("client command"), "attack \(index + 1): \(error)")
                #expect(!FileManager.default.fileExists(atPath: root + "/ran-\(index + 1)"), "attack \(index + 1) ran its command")
            }
            // A real pg_dump dump (15.14 and later write \restrict KEY … \unrestrict KEY) with COPY data.
            let source = name + "_src"
            defer { _ = try? Self.run(psql, ["-X", "-d", "postgres", "-c", "DROP DATABASE IF EXISTS \(source)"]) }
            _ = try Self.run(psql, ["-X", "-d", "postgres", "-c", "CREATE DATABASE \(source)"])
            _ = try Self.run(
                psql, ["-X", "-d", source, "-c", "CREATE TABLE t (a int, b text); INSERT INTO t VALUES (1, E'\\\\! not a command'), (2, 'x')"])
            let dump = try Self.run(try #require(ProgramLocator.find("pg_dump")), ["--format=plain", "--dbname=dbname='\(source)'"])
            try await Self.load(dump + "\n", DatabaseRestore(engine: .postgresql, name: "shop", into: name), root: root, overwrite: true)
            #expect(try Self.run(psql, ["-X", "-d", name, "-Atc", "SELECT string_agg(b, ',' ORDER BY a) FROM t"]) == "\\! not a command,x")
        }
    }

    @Test(
        "MariaDB: \\! and system in a dump run nothing (mariadb --sandbox)",
        .enabled(if: DatabaseServers.enabled, "set MZPANEL_TEST_DATABASES=1 with MariaDB reachable by root (scripts/test does)"))
    func mariadb() async throws {
        try await withTemporaryDirectory { root in
            let client = try #require(ProgramLocator.find("mariadb"))
            let name = "mzpanel_guard_\(UInt32.random(in: 0...UInt32.max))"
            defer { _ = try? Self.run(client, ["-e", "DROP DATABASE IF EXISTS \(name)"]) }
            let attacks = [
                "CREATE TABLE t (a int);\n\\! touch \(root)/ran-1\n",
                "CREATE TABLE t (a int);\nsystem touch \(root)/ran-2\n",
                "CREATE TABLE t (a int);\n\\. \(root)/other.sql\n",
            ]
            try Data("\\! touch \(root)/ran-3\n".utf8).write(to: URL(fileURLWithPath: root + "/other.sql"))
            for (index, dump) in attacks.enumerated() {
                let error = await Self.failure {
                    try await Self.load(dump, DatabaseRestore(engine: .mariadb, name: "shop", into: name), root: root, overwrite: true)
                }
                #expect(error.contains("client command"), "attack \(index + 1): \(error)")
                #expect(!FileManager.default.fileExists(atPath: root + "/ran-\(index + 1)"), "attack \(index + 1) ran its command")
            }
        }
    }

    @Test("the psql guard gives the same stream however the dump is split, and drops only the dump's own restriction")
    func psqlGuardChunks() throws {
        let dump = "--\n\\restrict K1\nSET a = 1;\nCOPY t FROM stdin;\n1\t\\\\x\n\\.\n\\! echo\n\\unrestrict K2\n\\unrestrict K1\n"
        func run(_ sizes: [Int]) -> String {
            let guardFilter = PsqlRestrictGuard()
            var out = Data()
            var rest = Data(dump.utf8)[...]
            var index = 0
            while !rest.isEmpty {
                let size = sizes[index % sizes.count]
                out.append(guardFilter.filter(Data(rest.prefix(size))))
                rest = rest.dropFirst(size)
                index += 1
            }
            out.append(guardFilter.finish())
            let text = String(decoding: out, as: UTF8.self)
            let firstLine = text.prefix { $0 != "\n" }
            #expect(firstLine.hasPrefix("\\restrict ") && firstLine.count == 50)
            return String(text.dropFirst(firstLine.count + 1))
        }
        let expected = "--\nSET a = 1;\nCOPY t FROM stdin;\n1\t\\\\x\n\\.\n\\! echo\n\\unrestrict K2\n"
        for sizes in [[1], [2, 3], [7], [1000], [5, 1, 13]] { #expect(run(sizes) == expected, "chunks \(sizes)") }
    }
}
