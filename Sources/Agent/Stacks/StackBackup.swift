import BackupCore
import Foundation

/// What a stack job takes from one compose project, resolved against the engine at run time: the
/// paths (project directory and named volumes), the database dumps (one `docker exec` of the
/// engine's own dump tool per database service) and the containers to stop for the volume copy.
struct StackPlan: Sendable, Equatable {
    struct Dump: Sendable, Equatable {
        var service: String
        var container: String
        var engine: StackDatabaseEngine
        /// The dump's name inside the snapshot.
        var filename: String
        /// The shell line run inside the container. It names the container's own environment
        /// variables (`$POSTGRES_PASSWORD`…), so no credential passes through the agent or argv.
        var script: String
    }

    var project: String
    var paths: [String]
    var volumes: [String]
    /// Volumes of the dumped database services: a restore leaves them empty and loads the dump instead.
    var databaseVolumes: [String]
    var dumps: [Dump]
    /// Containers to stop for the volume copy, with their service names.
    var stop: [(service: String, container: String)]
    /// Services the plan leaves out, in words (for the run log).
    var notes: [String]
    /// Host paths of the bind mounts outside the project directory taken (`includeBinds`).
    var binds: [String] = []
    /// What the snapshot will hold, reported with it (the snapshot page, restore checks).
    var contents: StackContents

    static func == (lhs: StackPlan, rhs: StackPlan) -> Bool {
        lhs.project == rhs.project && lhs.paths == rhs.paths && lhs.volumes == rhs.volumes && lhs.dumps == rhs.dumps
            && lhs.stop.map(\.container) == rhs.stop.map(\.container) && lhs.notes == rhs.notes
    }

    /// The plan for `source` over the discovered `stack`. A database service that is not running
    /// fails the plan (before anything is written), naming the service.
    static func make(_ source: StackSource, stack: DockerStack, kind: JobKind) throws -> StackPlan {
        var notes: [String] = []
        let excluded = Set(source.excludeVolumes)
        let volumes = stack.volumes.filter { !$0.excluded && !excluded.contains($0.name) && !$0.mountpoint.isEmpty }
        for volume in stack.volumes where volume.excluded || excluded.contains(volume.name) { notes.append("volume \(volume.name) excluded") }
        var paths: [String] = []
        if kind == .full {
            if let directory = stack.directory { paths.append(directory) }
            paths += volumes.map(\.mountpoint)
        }
        var dumps: [Dump] = []
        for service in stack.services {
            guard let engine = service.database else { continue }
            if service.dumpDisabled {
                notes.append("service \(service.name): dump turned off by label")
                continue
            }
            guard let script = dumpScript(engine) else {
                notes.append("service \(service.name): \(engine.rawValue) is not dumped (its volume is copied)")
                continue
            }
            guard service.state == "running", let container = service.containers.first else {
                throw AgentError(
                    "database service \(service.name) of stack \(stack.project) is \(service.state), so its database cannot be dumped; start it (docker-compose up -d \(service.name)) or label it mzpanel.backup.dump=false"
                )
            }
            let suffix = engine == .postgresql ? "pgdump" : "sql"
            dumps.append(
                Dump(service: service.name, container: container, engine: engine, filename: "stack-\(service.name).\(suffix)", script: script))
        }
        let unknown = Set(source.stop).subtracting(stack.services.map(\.name))
        if !unknown.isEmpty {
            throw AgentError(
                "stack \(stack.project) has no service \(unknown.sorted().joined(separator: ", ")) to stop; fix --stop in the job")
        }
        let stopNames = Set(source.stop).union(stack.services.filter(\.stopForBackup).map(\.name))
        var stop: [(service: String, container: String)] = []
        if kind == .full {
            for service in stack.services where stopNames.contains(service.name) && service.state == "running" {
                stop += service.containers.map { (service.name, $0) }
            }
        }
        let dumped = Set(dumps.map(\.service))
        let databaseVolumes = Set(stack.services.filter { dumped.contains($0.name) }.flatMap(\.volumes))
        let taken = kind == .full ? volumes.map(\.name) : []
        var binds: [String] = []
        for path in source.includeBinds {
            guard let mount = stack.bindMounts.first(where: { $0.source == path }) else {
                let known = stack.bindMounts.filter { !$0.insideProject }.map(\.source)
                throw AgentError(
                    "stack \(stack.project) has no bind mount from \(path); its bind mounts outside the project directory: \(known.isEmpty ? "none" : known.joined(separator: ", ")); fix --include-bind in the job"
                )
            }
            if mount.insideProject {
                notes.append("bind mount \(path) is inside the project directory, which is taken already")
            } else if kind == .full && !binds.contains(path) {
                binds.append(path)
            }
        }
        paths += binds
        let contents = StackContents(
            project: stack.project, directory: kind == .full ? stack.directory : nil, volumes: taken,
            services: stack.services.map { service in
                StackContents.Service(
                    name: service.name, volumes: service.volumes.filter { taken.contains($0) },
                    dump: dumps.first { $0.service == service.name }?.engine)
            }, bindMounts: binds)
        return StackPlan(
            project: stack.project, paths: paths, volumes: volumes.map(\.name),
            databaseVolumes: volumes.map(\.name).filter { databaseVolumes.contains($0) }, dumps: dumps, stop: stop, notes: notes,
            binds: binds, contents: contents)
    }

    /// The dump command line for an engine, run by `sh -c` inside the container; nil when the
    /// engine has no dump here (MongoDB, Redis: their volumes are copied).
    static func dumpScript(_ engine: StackDatabaseEngine) -> String? {
        switch engine {
        case .postgresql:
            // Custom format (pg_restore reads it); the superuser and database the image was started with.
            return #"u="${POSTGRES_USER:-postgres}"; PGPASSWORD="${POSTGRES_PASSWORD:-}" exec pg_dump -Fc -U "$u" -d "${POSTGRES_DB:-$u}""#
        case .mariadb, .mysql:
            // Root's password from the container's environment through MYSQL_PWD (never an argument);
            // the image's database when it names one, otherwise all of them.
            return #"p="${MARIADB_ROOT_PASSWORD:-${MYSQL_ROOT_PASSWORD:-}}"; d="${MARIADB_DATABASE:-${MYSQL_DATABASE:-}}"; "#
                + #"t=$(command -v mariadb-dump || command -v mysqldump); "#
                + #"if [ -n "$d" ]; then set -- --databases "$d"; else set -- --all-databases; fi; "#
                + #"MYSQL_PWD="$p" exec "$t" -uroot --single-transaction --routines --events "$@""#
        case .mongodb, .redis:
            return nil
        }
    }
}

/// Services stopped for a volume copy, recorded in the agent's state before they are stopped, so
/// that the daemon starts them again after a crash or `kill -9` of the run (`repair`).
enum StoppedServices {
    static func file(_ state: AgentState) -> String { state.directory + "/stack-stopped.json" }

    /// Stops the containers that are running and returns them; the record lists them first.
    static func stop(_ containers: [String], docker: DockerCLI, state: AgentState, log: (String) -> Void) throws -> [String] {
        guard !containers.isEmpty else { return [] }
        var recorded = (try? load(state)) ?? []
        recorded += containers.filter { !recorded.contains($0) }
        try save(recorded, state: state)
        for container in containers {
            _ = try docker.run(["stop", "--time", "30", container])
            log("stopped container \(container.prefix(12)) for the volume copy")
        }
        return containers
    }

    /// Starts the containers again and drops them from the record.
    static func start(_ containers: [String], docker: DockerCLI, state: AgentState, log: (String) -> Void) {
        guard !containers.isEmpty else { return }
        var failed: [String] = []
        for container in containers {
            do {
                _ = try docker.run(["start", container])
                log("started container \(container.prefix(12)) again")
            } catch {
                failed.append(container)
                log("could not start container \(container.prefix(12)) again: \(error)")
            }
        }
        let remaining = ((try? load(state)) ?? []).filter { !containers.contains($0) || failed.contains($0) }
        try? save(remaining, state: state)
    }

    /// Starts what an interrupted run left stopped; called when the daemon starts and before a stack copy.
    static func repair(state: AgentState, docker: DockerCLI, log: (String) -> Void) {
        guard let recorded = try? load(state), !recorded.isEmpty else { return }
        start(recorded, docker: docker, state: state, log: log)
    }

    static func load(_ state: AgentState) throws -> [String] {
        guard FileManager.default.fileExists(atPath: file(state)) else { return [] }
        return try JSONDecoder().decode([String].self, from: Data(contentsOf: URL(fileURLWithPath: file(state))))
    }

    private static func save(_ containers: [String], state: AgentState) throws {
        if containers.isEmpty {
            try? FileManager.default.removeItem(atPath: file(state))
            return
        }
        try SecureFile.write(try JSONEncoder().encode(containers), to: file(state))
    }
}
