import BackupCore
import Foundation
import ResticKit

/// Brings a stack back from the restic snapshots of one stack run (docs/stacks.md): the project
/// directory, the named volumes recreated with their compose labels (so `docker-compose up` adopts
/// them instead of making new ones) and filled, the database services started and their dumps
/// loaded from inside their containers, then the rest of the stack started.
struct StackRestore: Sendable {
    let restic: Restic
    let repository: ResticRepository
    let docker: DockerCLI
    let log: @Sendable (String) -> Void

    struct Options: Sendable {
        /// The project name to restore as (default: the one backed up).
        var project: String?
        /// Where the project directory goes (default: where it was).
        var projectDirectory: String?
        /// Whether a non-empty project directory or volume may be replaced.
        var overwrite = false
        /// Seconds to wait for a database service to accept its dump.
        var databaseTimeout: TimeInterval = 120
    }

    /// Restores the stack whose run made `snapshots` (all tagged `stack=`); answers the project name restored.
    @discardableResult
    func perform(_ snapshots: [ResticSnapshot], options: Options, staging: String) async throws -> String {
        func tag(_ snapshot: ResticSnapshot, _ key: String) -> [String] {
            snapshot.tags.filter { $0.hasPrefix(key + "=") }.map { String($0.dropFirst(key.count + 1)) }
        }
        guard let files = snapshots.first(where: { $0.tags.contains("source=stack-files") }),
            let original = tag(files, "stack").first
        else {
            throw AgentError("these snapshots hold no stack files (tag source=stack-files); restore a snapshot of a full stack job")
        }
        let project = options.project ?? original
        _ = try StackSource(project: project).validated()
        let volumes = tag(files, "volume")
        let databaseVolumes = Set(tag(files, "dbvolume"))
        let volumePaths = Dictionary(
            uniqueKeysWithValues: volumes.compactMap { volume in
                files.paths.first { $0.hasSuffix("/\(original)_\(volume)/_data") }.map { (volume, $0) }
            })
        guard let originalDirectory = files.paths.first(where: { !volumePaths.values.contains($0) }) else {
            throw AgentError("the stack snapshot has no project directory")
        }
        let directory = options.projectDirectory ?? originalDirectory

        // 1. Everything into a staging directory, then the project directory in place.
        try FileManager.default.createDirectory(atPath: staging, withIntermediateDirectories: true)
        log("restoring the stack files of snapshot \(files.shortID) for staging")
        try await restic.restore(repository, snapshotID: files.id, target: staging, includes: [])
        try Self.requireEmptyOrOverwrite(directory, overwrite: options.overwrite, what: "the project directory")
        try Self.copyTree(from: staging + originalDirectory, to: directory)
        log("project directory restored at \(directory)")

        // 2. The named volumes, recreated with compose's labels and filled (a database's volume is
        //    left empty: its dump fills it once the service has started).
        for volume in volumes {
            let name = "\(project)_\(volume)"
            if (try? docker.run(["volume", "inspect", name])) != nil {
                let mountpoint = try volumeMountpoint(name)
                try Self.requireEmptyOrOverwrite(mountpoint, overwrite: options.overwrite, what: "volume \(name)")
                if options.overwrite { _ = try docker.run(["volume", "rm", "-f", name]) }
            }
            _ = try docker.run([
                "volume", "create", "--label", "\(StackDiscovery.projectLabel)=\(project)", "--label", "\(StackDiscovery.volumeLabel)=\(volume)",
                "--label", "com.docker.compose.version=1.29.2", name,
            ])
            guard !databaseVolumes.contains(volume) else {
                log("volume \(name) created empty for its database (the dump fills it)")
                continue
            }
            guard let source = volumePaths[volume] else {
                log("volume \(name) created empty: the snapshot holds no data under the name \(original)_\(volume)")
                continue
            }
            try Self.copyTree(from: staging + source, to: try volumeMountpoint(name))
            log("volume \(name) restored")
        }

        // 3. The database services, then their dumps, then the rest of the stack.
        let dumps = snapshots.filter { $0.tags.contains("stack=\(original)") && !tag($0, "service").isEmpty }
        let compose = try ComposeCLI.located(environment: docker.environment)
        let services = dumps.flatMap { tag($0, "service") }
        if !services.isEmpty {
            _ = try compose.run(["-p", project, "up", "-d"] + services, directory: directory)
        }
        for dump in dumps {
            guard let service = tag(dump, "service").first, let path = dump.paths.first else { continue }
            let container = try compose.container(project: project, service: service, directory: directory)
            var environment: [String: String] = [:]
            if let host = docker.environment["DOCKER_HOST"] { environment["DOCKER_HOST"] = host }
            // A database image's first start runs a temporary server to initialise, then restarts it:
            // a load that meets the restart is made again (the loads replace what they create).
            var attempt = 1
            while true {
                let script = try await waitForDatabase(container: container, path: path, timeout: options.databaseTimeout)
                log("loading \(path) into service \(service)")
                do {
                    try await restic.dump(
                        repository, snapshotID: dump.id, path: path,
                        into: ProducerCommand(
                            executable: docker.executable, arguments: ["exec", "-i", container, "sh", "-c", script], environment: environment))
                    break
                } catch {
                    guard attempt < 3 else { throw error }
                    log("loading \(path) failed (\(error)); trying again once the database is up")
                    attempt += 1
                    try await Task.sleep(for: .seconds(2))
                }
            }
        }
        _ = try compose.run(["-p", project, "up", "-d"], directory: directory)
        log("stack \(project) is up")
        return project
    }

    /// Waits until the database in `container` answers; returns the command line that loads its dump.
    private func waitForDatabase(container: String, path: String, timeout: TimeInterval) async throws -> String {
        let postgres = path.hasSuffix(".pgdump")
        let probe =
            postgres
            ? #"pg_isready -q -U "${POSTGRES_USER:-postgres}" -d "${POSTGRES_DB:-${POSTGRES_USER:-postgres}}""#
            : #"MYSQL_PWD="${MARIADB_ROOT_PASSWORD:-${MYSQL_ROOT_PASSWORD:-}}" $(command -v mariadb || command -v mysql) -uroot -e 'select 1'"#
        // Up means answering three times in a row, a second apart (not the image's temporary first-start server).
        let deadline = Date().addingTimeInterval(timeout)
        var answered = 0
        while answered < 3 {
            answered = (try? docker.run(["exec", container, "sh", "-c", probe])) == nil ? 0 : answered + 1
            guard Date() < deadline else {
                throw AgentError("the database in container \(container.prefix(12)) did not start within \(Int(timeout)) s")
            }
            if answered < 3 { try await Task.sleep(for: .seconds(1)) }
        }
        if postgres {
            return
                #"u="${POSTGRES_USER:-postgres}"; PGPASSWORD="${POSTGRES_PASSWORD:-}" exec pg_restore -U "$u" -d "${POSTGRES_DB:-$u}" --no-owner --clean --if-exists --exit-on-error"#
        }
        return #"MYSQL_PWD="${MARIADB_ROOT_PASSWORD:-${MYSQL_ROOT_PASSWORD:-}}" exec $(command -v mariadb || command -v mysql) -uroot"#
    }

    private func volumeMountpoint(_ name: String) throws -> String {
        String(decoding: try docker.run(["volume", "inspect", "-f", "{{.Mountpoint}}", name]), as: UTF8.self)
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static func requireEmptyOrOverwrite(_ path: String, overwrite: Bool, what: String) throws {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
        if !entries.isEmpty && !overwrite {
            throw AgentError("\(what) (\(path)) is not empty; restore with --overwrite to replace it, or choose another place")
        }
    }

    /// `cp -a SOURCE/. TARGET`: modes, owners, times and links kept.
    static func copyTree(from source: String, to target: String) throws {
        try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: true)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: ProgramLocator.find("cp") ?? "/bin/cp")
        process.arguments = ["-a", source + "/.", target]
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw AgentError("copying \(source) to \(target) failed (cp exited \(process.terminationStatus))")
        }
    }
}

/// `docker-compose` (v1, Debian's) or the `docker compose` plugin, in a project directory.
struct ComposeCLI: Sendable {
    var executable: String
    var prefix: [String]
    var environment: [String: String]

    static func located(environment: [String: String]) throws -> ComposeCLI {
        if let path = ProgramLocator.find("docker-compose", environment: environment) {
            return ComposeCLI(executable: path, prefix: [], environment: environment)
        }
        if let docker = ProgramLocator.find("docker", environment: environment) {
            return ComposeCLI(executable: docker, prefix: ["compose"], environment: environment)
        }
        throw AgentError("neither docker-compose nor docker is installed, so the stack cannot be started; install docker-compose")
    }

    func run(_ arguments: [String], directory: String) throws -> Data {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = prefix + arguments
        process.environment = environment
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            let last = String(decoding: data, as: UTF8.self).split(separator: "\n").last.map(String.init) ?? ""
            throw AgentError("docker-compose \(arguments.dropFirst(2).first ?? "") failed: \(last)")
        }
        return data
    }

    /// The container of a service (`docker-compose ps -q SERVICE`).
    func container(project: String, service: String, directory: String) throws -> String {
        let id = String(decoding: try run(["-p", project, "ps", "-q", service], directory: directory), as: UTF8.self)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        guard !id.isEmpty else { throw AgentError("service \(service) of stack \(project) has no container after docker-compose up") }
        return id
    }
}
