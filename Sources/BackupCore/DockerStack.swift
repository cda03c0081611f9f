import Foundation

/// A database engine running as a service of a Docker stack, recognised by image and environment.
public enum StackDatabaseEngine: String, Sendable, Codable, CaseIterable {
    case postgresql, mysql, mariadb, mongodb, redis

    /// The engine of a service from its image (`postgres:16`, `registry/x/mariadb:11`,
    /// `bitnami/postgresql`…) and, when the image says nothing, its environment (`POSTGRES_PASSWORD`,
    /// `MARIADB_ROOT_PASSWORD`, `MYSQL_ROOT_PASSWORD`, `MONGO_INITDB_ROOT_USERNAME`). nil: not a database.
    public static func recognise(image: String, environment: [String]) -> StackDatabaseEngine? {
        let repository = image.split(separator: "@").first.map(String.init) ?? image
        let lastComponent = repository.split(separator: "/").last.map(String.init) ?? repository
        let name = (lastComponent.split(separator: ":").first.map(String.init) ?? lastComponent).lowercased()
        let byImage: [(String, StackDatabaseEngine)] = [
            ("postgres", .postgresql), ("postgis", .postgresql), ("timescaledb", .postgresql), ("mariadb", .mariadb),
            ("mysql", .mysql), ("percona", .mysql), ("mongo", .mongodb), ("redis", .redis), ("valkey", .redis),
        ]
        for (fragment, engine) in byImage where name.contains(fragment) { return engine }
        let keys = Set(environment.map { String($0.split(separator: "=", maxSplits: 1).first ?? "") })
        if keys.contains(where: { $0.hasPrefix("POSTGRES_") }) { return .postgresql }
        if keys.contains(where: { $0.hasPrefix("MARIADB_") }) { return .mariadb }
        if keys.contains("MYSQL_ROOT_PASSWORD") || keys.contains("MYSQL_DATABASE") { return .mysql }
        if keys.contains(where: { $0.hasPrefix("MONGO_INITDB_") }) { return .mongodb }
        return nil
    }
}

/// One service of a stack as the engine runs it.
public struct StackService: Sendable, Codable, Equatable {
    public var name: String
    public var image: String
    /// The container's state (`running`, `exited`, `paused`…); several containers: the first's.
    public var state: String
    public var containers: [String]
    /// The database engine this service runs, if recognised.
    public var database: StackDatabaseEngine?
    /// Labelled `mzpanel.backup.stop=true`: stopped while its volumes are copied.
    public var stopForBackup: Bool
    /// Labelled `mzpanel.backup.dump=false`: its database is not dumped.
    public var dumpDisabled: Bool
    /// Named volumes it mounts (the stack's volume names, e.g. `pgdata`).
    public var volumes: [String]

    public init(
        name: String, image: String, state: String, containers: [String], database: StackDatabaseEngine?, stopForBackup: Bool,
        dumpDisabled: Bool, volumes: [String]
    ) {
        self.name = name
        self.image = image
        self.state = state
        self.containers = containers
        self.database = database
        self.stopForBackup = stopForBackup
        self.dumpDisabled = dumpDisabled
        self.volumes = volumes
    }
}

/// A named volume of a stack.
public struct StackVolume: Sendable, Codable, Equatable {
    /// The name in the compose file (`com.docker.compose.volume`), e.g. `pgdata`.
    public var name: String
    /// The engine's name, e.g. `shop_pgdata`.
    public var engineName: String
    public var mountpoint: String
    /// Bytes under the mount point (nil when it cannot be read from here).
    public var sizeBytes: Int64?
    /// Labelled `mzpanel.backup.exclude=true`.
    public var excluded: Bool

    public init(name: String, engineName: String, mountpoint: String, sizeBytes: Int64?, excluded: Bool) {
        self.name = name
        self.engineName = engineName
        self.mountpoint = mountpoint
        self.sizeBytes = sizeBytes
        self.excluded = excluded
    }
}

/// A bind mount of a stack's service: a host path mounted into a container.
public struct StackBindMount: Sendable, Codable, Equatable {
    public var service: String
    public var source: String
    public var destination: String
    /// Whether the host path lies inside the project directory (then the directory's copy has it).
    public var insideProject: Bool

    public init(service: String, source: String, destination: String, insideProject: Bool) {
        self.service = service
        self.source = source
        self.destination = destination
        self.insideProject = insideProject
    }
}

/// A Docker Compose project on a server, as discovered from the engine's labels.
public struct DockerStack: Sendable, Codable, Equatable {
    /// `com.docker.compose.project`.
    public var project: String
    /// `com.docker.compose.project.working_dir`.
    public var directory: String?
    /// `com.docker.compose.project.config_files`, as absolute paths.
    public var configFiles: [String]
    public var services: [StackService]
    public var volumes: [StackVolume]
    public var bindMounts: [StackBindMount]

    public init(
        project: String, directory: String?, configFiles: [String], services: [StackService], volumes: [StackVolume],
        bindMounts: [StackBindMount]
    ) {
        self.project = project
        self.directory = directory
        self.configFiles = configFiles
        self.services = services
        self.volumes = volumes
        self.bindMounts = bindMounts
    }

    /// The services whose databases a stack job dumps.
    public var databaseServices: [StackService] { services.filter { $0.database != nil && !$0.dumpDisabled } }
}

/// What a server's agent found on its Docker engine.
public struct StackReport: Sendable, Codable, Equatable {
    public var stacks: [DockerStack]
    /// Why discovery failed (no engine, no permission), in words; nil when it worked.
    public var error: String?
    public var reportedAt: Date?

    public init(stacks: [DockerStack], error: String? = nil, reportedAt: Date? = nil) {
        self.stacks = stacks
        self.error = error
        self.reportedAt = reportedAt
    }
}
