import Foundation

/// What one stack snapshot holds, reported by the agent with the snapshot (docs/stacks.md): the
/// project, its directory, the named volumes taken and the database dumps. The snapshot page shows
/// it as stack → services → volumes/databases; a stack restore's names are checked against it.
public struct StackContents: Sendable, Codable, Equatable {
    public struct Service: Sendable, Codable, Equatable {
        public var name: String
        /// The named volumes of this service that the snapshot holds.
        public var volumes: [String]
        /// The engine of its dump, when the snapshot holds one.
        public var dump: StackDatabaseEngine?

        public init(name: String, volumes: [String], dump: StackDatabaseEngine?) {
            self.name = name
            self.volumes = volumes
            self.dump = dump
        }
    }

    public var project: String
    public var directory: String?
    /// All named volumes the snapshot holds (a dumped database's volume is restored empty, then loaded).
    public var volumes: [String]
    public var services: [Service]
    /// Host paths of bind mounts outside the project directory that the snapshot holds (`--include-bind`).
    public var bindMounts: [String]

    public init(project: String, directory: String?, volumes: [String], services: [Service], bindMounts: [String] = []) {
        self.project = project
        self.directory = directory
        self.volumes = volumes
        self.services = services
        self.bindMounts = bindMounts
    }

    enum CodingKeys: String, CodingKey { case project, directory, volumes, services, bindMounts }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        project = try c.decode(String.self, forKey: .project)
        directory = try c.decodeIfPresent(String.self, forKey: .directory)
        volumes = try c.decode([String].self, forKey: .volumes)
        services = try c.decode([Service].self, forKey: .services)
        bindMounts = try c.decodeIfPresent([String].self, forKey: .bindMounts) ?? []
    }

    /// Services whose database the snapshot holds as a dump.
    public var dumpedServices: [String] { services.filter { $0.dump != nil }.map(\.name) }
}

/// The stack part of a restore order: the whole stack (no volumes and no databases named), or only
/// the named volumes and database services. Everything a stack restore does is in here, so it is
/// part of the order the agent receives (and of the run's history).
public struct StackRestoreOptions: Sendable, Codable, Equatable {
    /// One database service's dump loaded into the running stack, into its own database or `into`.
    public struct Database: Sendable, Codable, Equatable {
        public var service: String
        public var into: String?

        public init(service: String, into: String? = nil) {
            self.service = service
            self.into = into
        }
    }

    /// Restore as this compose project (default: the one backed up).
    public var project: String?
    /// Where the project directory goes (default: where it was).
    public var projectDirectory: String?
    /// Only these named volumes (compose names, e.g. `uploads`).
    public var volumes: [String]
    /// Only these databases.
    public var databases: [Database]

    public init(project: String? = nil, projectDirectory: String? = nil, volumes: [String] = [], databases: [Database] = []) {
        self.project = project
        self.projectDirectory = projectDirectory
        self.volumes = volumes
        self.databases = databases
    }

    enum CodingKeys: String, CodingKey { case project, projectDirectory, volumes, databases }

    /// Every key may be left out (`{}`: the whole stack where it was).
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        project = try c.decodeIfPresent(String.self, forKey: .project)
        projectDirectory = try c.decodeIfPresent(String.self, forKey: .projectDirectory)
        volumes = try c.decodeIfPresent([String].self, forKey: .volumes) ?? []
        databases = try c.decodeIfPresent([Database].self, forKey: .databases) ?? []
    }

    /// The whole stack: project directory, every volume, every dump, then `up`.
    public var whole: Bool { volumes.isEmpty && databases.isEmpty }

    /// `SERVICE[=INTO]`.
    public static func parseDatabase(_ text: String) -> Database {
        guard let equals = text.firstIndex(of: "=") else { return Database(service: text) }
        return Database(service: String(text[..<equals]), into: String(text[text.index(after: equals)...]))
    }

    /// Checks names and paths; with `contents` (the snapshot's stack), also that every volume and
    /// service named is in the snapshot, naming those that are not.
    public func validated(contents: StackContents? = nil) throws(DomainError) -> StackRestoreOptions {
        var clean = StackRestoreOptions()
        if let project, !project.trimmingSpaces.isEmpty {
            do {
                clean.project = try StackSource(project: project).validated().project
            } catch {
                throw .invalid("stack.project", "\"\(project)\" is not a compose project name: use lowercase letters, digits, '_' and '-' (up to 64)")
            }
        }
        if let directory = projectDirectory, !directory.trimmingSpaces.isEmpty {
            let trimmed = directory.trimmingSpaces
            guard trimmed.hasPrefix("/"), trimmed != "/", !trimmed.contains(where: \.isNewline), !trimmed.contains("\0"),
                !trimmed.split(separator: "/").contains(where: { $0 == "." || $0 == ".." })
            else {
                throw .invalid("stack.projectDirectory", "\"\(directory)\" is not an absolute directory; give one such as /srv/shop-restored")
            }
            clean.projectDirectory = trimmed.hasSuffix("/") ? String(trimmed.dropLast()) : trimmed
        }
        let nameCharacters = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")
        func checkName(_ name: String, field: String) throws(DomainError) -> String {
            let trimmed = name.trimmingSpaces
            guard (1...64).contains(trimmed.count), trimmed.allSatisfy({ nameCharacters.contains($0) }), trimmed.first != "-" else {
                throw .invalid(field, "\"\(name)\" is not a service or volume name of a compose file")
            }
            return trimmed
        }
        for (index, volume) in volumes.enumerated() {
            let name = try checkName(volume, field: "stack.volumes[\(index)]")
            if !clean.volumes.contains(name) { clean.volumes.append(name) }
        }
        for (index, database) in databases.enumerated() {
            let service = try checkName(database.service, field: "stack.databases[\(index)].service")
            var into: String?
            if let target = database.into?.trimmingSpaces, !target.isEmpty {
                try DatabaseEngine.checkName(target, engine: .postgresql, field: "stack.databases[\(index)].into", allowAll: false)
                into = target
            }
            guard !clean.databases.contains(where: { $0.service == service }) else {
                throw .invalid("stack.databases[\(index)]", "service \(service) is named twice; restore one database per service")
            }
            clean.databases.append(Database(service: service, into: into))
        }
        if let contents {
            let unknownVolumes = clean.volumes.filter { !contents.volumes.contains($0) }
            if !unknownVolumes.isEmpty {
                throw .invalid(
                    "stack.volumes",
                    "the snapshot of stack \(contents.project) holds no volume \(unknownVolumes.joined(separator: ", ")); it holds: \(contents.volumes.isEmpty ? "none" : contents.volumes.joined(separator: ", "))"
                )
            }
            let dumped = contents.dumpedServices
            let unknownServices = clean.databases.map(\.service).filter { !dumped.contains($0) }
            if !unknownServices.isEmpty {
                throw .invalid(
                    "stack.databases",
                    "the snapshot of stack \(contents.project) holds no database dump of service \(unknownServices.joined(separator: ", ")); dumped services: \(dumped.isEmpty ? "none" : dumped.joined(separator: ", "))"
                )
            }
        }
        return clean
    }
}
