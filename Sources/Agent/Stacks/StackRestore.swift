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
    /// Each step as it begins (a phase for the run's progress) with the share done so far.
    var step: @Sendable (String, Double) async -> Void = { _, _ in }

    struct Options: Sendable {
        /// The project name to restore as (default: the one backed up).
        var project: String?
        /// Where the project directory goes (default: where it was).
        var projectDirectory: String?
        /// Only these named volumes / database services (none of either: the whole stack).
        var volumes: [String] = []
        var databases: [StackRestoreOptions.Database] = []
        /// Whether a non-empty project directory, volume or database may be replaced.
        var overwrite = false
        /// Only report (in the log) what would be created or replaced; nothing is touched.
        var dryRun = false
        /// Seconds to wait for a database service to accept its dump.
        var databaseTimeout: TimeInterval = 120

        var whole: Bool { volumes.isEmpty && databases.isEmpty }
    }

    /// The stack run's snapshots read: which project, where its directory and volumes are inside
    /// the files snapshot, which dumps there are.
    struct Layout {
        var original: String
        var files: ResticSnapshot?
        var volumes: [String]
        var databaseVolumes: Set<String>
        var volumePaths: [String: String]
        /// Host paths of bind mounts outside the project directory (tag `bind=`), restored where they were.
        var binds: [String]
        var originalDirectory: String?
        /// Dump snapshots by service.
        var dumps: [String: ResticSnapshot]

        init(_ snapshots: [ResticSnapshot]) throws {
            func tag(_ snapshot: ResticSnapshot, _ key: String) -> [String] { StackRestore.tag(snapshot, key) }
            guard let original = snapshots.lazy.compactMap({ tag($0, "stack").first }).first else {
                throw AgentError("these snapshots hold no Docker stack (no stack= tag); restore a snapshot of a stack job")
            }
            self.original = original
            files = snapshots.first { $0.tags.contains("source=stack-files") }
            volumes = files.map { tag($0, "volume") } ?? []
            databaseVolumes = Set(files.map { tag($0, "dbvolume") } ?? [])
            var paths: [String: String] = [:]
            for volume in volumes {
                if let path = files?.paths.first(where: { $0.hasSuffix("/\(original)_\(volume)/_data") }) { paths[volume] = path }
            }
            volumePaths = paths
            let binds = files.map { tag($0, "bind") } ?? []
            self.binds = binds
            originalDirectory = files?.paths.first { !paths.values.contains($0) && !binds.contains($0) }
            var dumps: [String: ResticSnapshot] = [:]
            for snapshot in snapshots where snapshot.tags.contains("stack=\(original)") {
                if let service = tag(snapshot, "service").first { dumps[service] = snapshot }
            }
            self.dumps = dumps
        }
    }

    static func tag(_ snapshot: ResticSnapshot, _ key: String) -> [String] {
        snapshot.tags.filter { $0.hasPrefix(key + "=") }.map { String($0.dropFirst(key.count + 1)) }
    }

    /// Restores the stack whose run made `snapshots` (all tagged `stack=`); answers the project name restored.
    @discardableResult
    func perform(_ snapshots: [ResticSnapshot], options: Options, staging: String) async throws -> String {
        let layout = try Layout(snapshots)
        let project = options.project ?? layout.original
        _ = try StackSource(project: project).validated()
        guard options.whole else {
            try await performParts(layout, project: project, options: options, staging: staging)
            return project
        }
        guard let files = layout.files, let originalDirectory = layout.originalDirectory else {
            throw AgentError(
                "these snapshots hold no stack files (tag source=stack-files): a database-only stack job; restore its databases with --database SERVICE"
            )
        }
        let directory = options.projectDirectory ?? originalDirectory
        let original = layout.original

        // 0. Every target checked before anything is written.
        var occupied: [String] = []
        if Self.isNonEmpty(directory) { occupied.append("the project directory (\(directory))") }
        for bind in layout.binds {
            if Self.isNonEmpty(bind) { occupied.append("bind mount \(bind)") }
            if options.dryRun {
                log("dry run: bind mount \(bind) would be restored where it was\(Self.isNonEmpty(bind) ? " (it is not empty: replaced)" : "")")
            }
        }
        for volume in layout.volumes {
            let name = "\(project)_\(volume)"
            if let mountpoint = try? volumeMountpoint(name) {
                if Self.isNonEmpty(mountpoint) { occupied.append("volume \(name)") }
                if options.dryRun {
                    log("dry run: volume \(name) exists and would be \(options.overwrite ? "removed and created again" : "kept (refused)")")
                }
            } else if options.dryRun {
                log("dry run: volume \(name) would be created with the compose labels of project \(project)")
            }
        }
        if options.dryRun {
            log("dry run: the project directory would be restored at \(directory)\(Self.isNonEmpty(directory) ? " (it is not empty: replaced)" : "")")
            for service in layout.dumps.keys.sorted() { log("dry run: the dump of service \(service) would be loaded once it has started") }
            log("dry run: then docker-compose -p \(project) up -d")
            if !occupied.isEmpty && !options.overwrite {
                log("dry run: refused without --overwrite: \(occupied.joined(separator: ", ")) not empty")
            }
            log("dry run: nothing was changed")
            return project
        }
        if !occupied.isEmpty && !options.overwrite {
            throw AgentError(
                "\(occupied.joined(separator: ", ")) \(occupied.count == 1 ? "is" : "are") not empty; restore with --overwrite to replace (stop the stack first: docker-compose -p \(project) down), or restore as another project (--project) in another directory (--project-dir)"
            )
        }

        // 1. Everything into a staging directory, then the project directory in place.
        try FileManager.default.createDirectory(atPath: staging, withIntermediateDirectories: true)
        await step("reading the stack's files", 0.05)
        log("restoring the stack files of snapshot \(files.shortID) for staging")
        try await restic.restore(repository, snapshotID: files.id, target: staging, includes: [])
        try Self.copyTree(from: staging + originalDirectory, to: directory)
        log("project directory restored at \(directory)")
        for bind in layout.binds {
            try Self.copyTree(from: staging + bind, to: bind)
            log("bind mount \(bind) restored")
        }

        // 2. The named volumes, recreated with compose's labels and filled (a database's volume is
        //    left empty: its dump fills it once the service has started).
        for (index, volume) in layout.volumes.enumerated() {
            let name = "\(project)_\(volume)"
            await step("volume \(name)", 0.4 + 0.2 * Double(index) / Double(max(layout.volumes.count, 1)))
            if options.overwrite, (try? docker.run(["volume", "inspect", name])) != nil {
                _ = try docker.run(["volume", "rm", "-f", name])
            }
            try createVolume(name, project: project, volume: volume)
            guard !layout.databaseVolumes.contains(volume) else {
                log("volume \(name) created empty for its database (the dump fills it)")
                continue
            }
            guard let source = layout.volumePaths[volume] else {
                log("volume \(name) created empty: the snapshot holds no data under the name \(original)_\(volume)")
                continue
            }
            try Self.copyTree(from: staging + source, to: try volumeMountpoint(name))
            log("volume \(name) restored")
        }

        // 3. The database services, then their dumps, then the rest of the stack.
        let compose = try ComposeCLI.located(environment: docker.environment)
        let services = layout.dumps.keys.sorted()
        if !services.isEmpty {
            _ = try compose.run(["-p", project, "up", "-d"] + services, directory: directory)
        }
        for (index, service) in services.enumerated() {
            guard let dump = layout.dumps[service], let path = dump.paths.first else { continue }
            await step("loading the database of service \(service)", 0.6 + 0.3 * Double(index) / Double(max(services.count, 1)))
            let container = try compose.container(project: project, service: service, directory: directory)
            try await load(dump, path: path, service: service, container: container, into: nil, timeout: options.databaseTimeout)
        }
        await step("starting stack \(project)", 0.95)
        _ = try compose.run(["-p", project, "up", "-d"], directory: directory)
        log("stack \(project) is up")
        return project
    }

    /// Streams one dump from restic into its database service's container (into its own database,
    /// or `into`, passed to the container's shell as `MZPANEL_INTO`, never spliced into the line).
    func load(_ dump: ResticSnapshot, path: String, service: String, container: String, into: String?, timeout: TimeInterval) async throws {
        var environment: [String: String] = [:]
        if let host = docker.environment["DOCKER_HOST"] { environment["DOCKER_HOST"] = host }
        let intoArguments = into.map { ["-e", "MZPANEL_INTO=\($0)"] } ?? []
        // A database image's first start runs a temporary server to initialise, then restarts it:
        // a load that meets the restart is made again (the loads replace what they create).
        var attempt = 1
        while true {
            let script = try await waitForDatabase(container: container, path: path, timeout: timeout, into: into != nil)
            log("loading \(path) into service \(service)\(into.map { " (database \($0))" } ?? "")")
            do {
                try await restic.dump(
                    repository, snapshotID: dump.id, path: path,
                    into: ProducerCommand(
                        executable: docker.executable, arguments: ["exec", "-i"] + intoArguments + [container, "sh", "-c", script],
                        environment: environment))
                return
            } catch {
                guard attempt < 3 else { throw error }
                log("loading \(path) failed (\(error)); trying again once the database is up")
                attempt += 1
                try await Task.sleep(for: .seconds(2))
            }
        }
    }

    func createVolume(_ name: String, project: String, volume: String) throws {
        _ = try docker.run([
            "volume", "create", "--label", "\(StackDiscovery.projectLabel)=\(project)", "--label", "\(StackDiscovery.volumeLabel)=\(volume)",
            "--label", "com.docker.compose.version=1.29.2", name,
        ])
    }

    /// Waits until the database in `container` answers; returns the command line that loads its dump.
    func waitForDatabase(container: String, path: String, timeout: TimeInterval, into: Bool) async throws -> String {
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
                #"u="${POSTGRES_USER:-postgres}"; export PGPASSWORD="${POSTGRES_PASSWORD:-}"; d="${MZPANEL_INTO:-${POSTGRES_DB:-$u}}"; "#
                + #"if [ -n "${MZPANEL_INTO:-}" ] && [ "$(psql -U "$u" -d postgres -Atc "select count(*) from pg_database where datname = '$d'")" = 0 ]; then createdb -U "$u" -- "$d" || exit 1; fi; "#
                + #"exec pg_restore -U "$u" -d "$d" --no-owner --clean --if-exists --exit-on-error"#
        }
        let client =
            #"MYSQL_PWD="${MARIADB_ROOT_PASSWORD:-${MYSQL_ROOT_PASSWORD:-}}"; export MYSQL_PWD; c=$(command -v mariadb || command -v mysql); "#
        guard into else { return client + #"exec "$c" -uroot"# }
        // The dump names its database (CREATE DATABASE, USE): those lines are dropped to load it into another.
        return client
            + #""$c" -uroot -e "CREATE DATABASE IF NOT EXISTS \`$MZPANEL_INTO\`" || exit 1; "#
            + #"sed -e '/^CREATE DATABASE/d' -e '/^USE /d' | exec "$c" -uroot "$MZPANEL_INTO""#
    }

    func volumeMountpoint(_ name: String) throws -> String {
        String(decoding: try docker.run(["volume", "inspect", "-f", "{{.Mountpoint}}", name]), as: UTF8.self)
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static func isNonEmpty(_ path: String) -> Bool { !((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).isEmpty }

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
