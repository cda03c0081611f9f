import Foundation
import MZPanelCLI

/// `pg_dump` and `psql` for the hub's PostgreSQL database. The connection goes in the children's
/// environment (`PGHOST`, `PGPASSWORD`…), never in their arguments.
struct PostgresTools {
    let environment: [String: String]

    init(url: String) throws {
        guard let components = URLComponents(string: url), let scheme = components.scheme, scheme.hasPrefix("postgres"),
            let database = components.path.split(separator: "/").first.map(String.init)
        else {
            throw CLIError("the database URL is not postgres://USER:PASSWORD@HOST:PORT/DATABASE")
        }
        var environment = ProcessInfo.processInfo.environment
        environment["PGHOST"] = components.host ?? "localhost"
        environment["PGPORT"] = String(components.port ?? 5432)
        environment["PGDATABASE"] = database
        if let user = components.user?.removingPercentEncoding { environment["PGUSER"] = user }
        if let password = components.password?.removingPercentEncoding { environment["PGPASSWORD"] = password }
        if let mode = components.queryItems?.first(where: { $0.name == "sslmode" })?.value { environment["PGSSLMODE"] = mode }
        self.environment = environment
    }

    /// A plain SQL dump that drops and recreates every object it holds (`--clean --if-exists`).
    func dump() throws -> Data {
        try run("pg_dump", ["--clean", "--if-exists", "--no-owner", "--no-privileges", "--format=plain"], input: nil)
    }

    /// Whether the database has tables in its public schema.
    func hasTables() throws -> Bool {
        let out = try run(
            "psql", ["-X", "-A", "-t", "-c", "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"], input: nil)
        return String(decoding: out, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) != "0"
    }

    /// Loads a dump in one transaction; the first error stops it and nothing is changed.
    func load(_ dump: Data) throws {
        _ = try run("psql", ["-X", "-q", "-v", "ON_ERROR_STOP=1", "--single-transaction", "-f", "-"], input: dump)
    }

    private func run(_ tool: String, _ arguments: [String], input: Data?) throws -> Data {
        guard
            let path = ["/usr/bin/", "/usr/local/bin/", "/usr/lib/postgresql/bin/"].map({ $0 + tool }).first(
                where: FileManager.default.isExecutableFile)
        else {
            throw CLIError("\(tool) is not installed; install the PostgreSQL client (apt install postgresql-client)")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        process.environment = environment
        let out = Pipe()
        let err = Pipe()
        let stdin = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = stdin
        try process.run()
        // Feed and drain at once: a dump larger than a pipe's buffer would otherwise block both sides.
        let writer = Thread {
            if let input { stdin.fileHandleForWriting.write(input) }
            try? stdin.fileHandleForWriting.close()
        }
        writer.start()
        let errors = ErrorCollector(handle: err.fileHandleForReading)
        let output = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw CLIError("\(tool) failed (exit \(process.terminationStatus)): \(errors.text.prefix(500))")
        }
        return output
    }

    /// Reads a child's standard error on its own thread.
    private final class ErrorCollector: @unchecked Sendable {
        private let lock = NSLock()
        private var data = Data()
        private let done = DispatchSemaphore(value: 0)

        init(handle: FileHandle) {
            Thread {
                let read = handle.readDataToEndOfFile()
                self.lock.withLock { self.data = read }
                self.done.signal()
            }.start()
        }

        var text: String {
            done.wait()
            return lock.withLock { String(decoding: data, as: UTF8.self) }
        }
    }
}
