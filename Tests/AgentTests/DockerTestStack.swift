import Foundation
import Testing

/// The Docker engine and images of `scripts/docker-test-env` (scripts/test starts it and exports
/// MZPANEL_TEST_DOCKER=1 and DOCKER_HOST; on CI the suites run and fail loudly instead).
enum DockerTestEngine {
    static var environment: [String: String] { ProcessInfo.processInfo.environment }

    static var enabled: Bool { environment["MZPANEL_TEST_DOCKER"] == "1" || environment["CI"] == "true" }

    static var postgresImage: String { environment["MZPANEL_TEST_POSTGRES_IMAGE"] ?? "mzpanel-test/postgres:15" }
    static var mariadbImage: String { environment["MZPANEL_TEST_MARIADB_IMAGE"] ?? "mzpanel-test/mariadb:10.11" }
    static let baseImage = "mzpanel-test/debian:12"

    /// Runs a shell command line with the test environment; its standard output, or a failure
    /// naming the command and its standard error.
    @discardableResult
    static func shell(_ command: String, directory: String? = nil) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = ["-c", command]
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        let output = Pipe()
        let errors = FileManager.default.temporaryDirectory.appendingPathComponent("mzpanel-shell-\(UUID().uuidString)")
        _ = FileManager.default.createFile(atPath: errors.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: errors) }
        process.standardOutput = output
        process.standardError = try FileHandle(forWritingTo: errors)
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            let stderr = (try? String(contentsOf: errors, encoding: .utf8)) ?? ""
            throw ShellFailure(description: "`\(command)` exited with \(process.terminationStatus): \(stderr.suffix(2000))")
        }
        return String(decoding: data, as: UTF8.self)
    }

    struct ShellFailure: Error, CustomStringConvertible {
        let description: String
    }
}

/// A compose project in a temporary directory: PostgreSQL (`db`), MariaDB (`maria`, dump turned
/// off by label when asked) and an app (`app`: a named volume of mixed files, a bind mount inside
/// the project and one outside, stopped for copies by label), plus an excluded `cache` volume.
struct DockerTestStack {
    let project: String
    let directory: String
    let outside: String

    static func make(project: String = "mzt\(UInt32.random(in: 0..<UInt32.max))") throws -> DockerTestStack {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("mzpanel-stack-\(UUID().uuidString)").path
        let directory = root + "/" + project
        let outside = root + "/outside"
        try FileManager.default.createDirectory(atPath: directory + "/config", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: outside, withIntermediateDirectories: true)
        try Data("listen = 8080\n".utf8).write(to: URL(fileURLWithPath: directory + "/config/app.conf"))
        try Data("APP_MODE=test\n".utf8).write(to: URL(fileURLWithPath: directory + "/.env"))
        try Data("shared\n".utf8).write(to: URL(fileURLWithPath: outside + "/shared.txt"))
        let compose = """
            version: "2.4"
            services:
              db:
                image: \(DockerTestEngine.postgresImage)
                network_mode: none
                environment:
                  POSTGRES_USER: shop
                  POSTGRES_PASSWORD: pg-secret-value
                  POSTGRES_DB: shop
                volumes: [pgdata:/var/lib/postgresql/data]
              maria:
                image: \(DockerTestEngine.mariadbImage)
                network_mode: none
                environment:
                  MARIADB_ROOT_PASSWORD: maria-root-secret
                  MARIADB_DATABASE: blog
                  MARIADB_USER: blog
                  MARIADB_PASSWORD: maria-user-secret
                volumes: [mariadata:/var/lib/mysql]
              app:
                image: \(DockerTestEngine.baseImage)
                network_mode: none
                init: true
                command: sleep infinity
                labels:
                  mzpanel.backup.stop: "true"
                volumes:
                  - appdata:/srv/app
                  - cache:/var/cache/app
                  - ./config:/etc/app
                  - \(outside):/srv/shared
            volumes:
              pgdata:
              mariadata:
              appdata:
              cache:
                labels:
                  mzpanel.backup.exclude: "true"

            """
        try Data(compose.utf8).write(to: URL(fileURLWithPath: directory + "/docker-compose.yml"))
        return DockerTestStack(project: project, directory: directory, outside: outside)
    }

    /// `docker-compose up -d`, then waits until both databases answer.
    func up() throws {
        try DockerTestEngine.shell("docker-compose -p \(project) up -d 2>&1", directory: directory)
        try waitForDatabases()
    }

    /// Both databases answer three times in a row, a second apart: a first start runs a temporary
    /// server to initialise and then restarts it, and that one answers too.
    func waitForDatabases() throws {
        var answered = 0
        for _ in 0..<120 {
            let ready = try? DockerTestEngine.shell(
                "docker exec \(container("db")) psql -U shop -d shop -Atc 'select 1' && docker exec \(container("maria")) mariadb -e 'select 1'")
            answered = ready == nil ? 0 : answered + 1
            if answered == 3 { return }
            Thread.sleep(forTimeInterval: 1)
        }
        throw DockerTestEngine.ShellFailure(description: "the databases of \(project) did not start within 120 s")
    }

    /// The container id of a service (docker-compose v1 names containers `proj_svc_1`).
    func container(_ service: String) throws -> String {
        let id = try DockerTestEngine.shell("docker-compose -p \(project) ps -q \(service)", directory: directory)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        guard !id.isEmpty else { throw DockerTestEngine.ShellFailure(description: "service \(service) of \(project) has no container") }
        return id
    }

    /// `docker-compose down -v` and the temporary directories; errors ignored (cleanup).
    func remove() {
        _ = try? DockerTestEngine.shell("docker-compose -p \(project) down -v --remove-orphans 2>&1", directory: directory)
        try? FileManager.default.removeItem(atPath: (directory as NSString).deletingLastPathComponent)
    }
}
