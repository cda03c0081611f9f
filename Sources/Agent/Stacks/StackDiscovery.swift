import BackupCore
import Foundation

/// Finds the Docker Compose projects on this server from the engine's labels: containers by
/// `com.docker.compose.project`, their mounts and environment from `docker inspect`, named volumes
/// from `docker volume inspect`. Environment values are read only to recognise database services;
/// they never leave this function.
public struct StackDiscovery: Sendable {
    public static let projectLabel = "com.docker.compose.project"
    static let workingDirLabel = "com.docker.compose.project.working_dir"
    static let configFilesLabel = "com.docker.compose.project.config_files"
    static let serviceLabel = "com.docker.compose.service"
    static let volumeLabel = "com.docker.compose.volume"
    static let oneOffLabel = "com.docker.compose.oneoff"
    /// On a service: stopped while its volumes are copied.
    public static let stopLabel = "mzpanel.backup.stop"
    /// On a volume: left out of the stack's backups.
    public static let excludeLabel = "mzpanel.backup.exclude"
    /// On a service: `false` turns off the dump of its database.
    public static let dumpLabel = "mzpanel.backup.dump"

    public var docker: DockerCLI
    /// Whether to sum the files of each volume (a walk of its mount point).
    public var measureVolumes: Bool

    public init(docker: DockerCLI, measureVolumes: Bool = true) {
        self.docker = docker
        self.measureVolumes = measureVolumes
    }

    /// Every stack on the engine, sorted by project name; one project when `project` is given.
    public func stacks(project: String? = nil) throws -> [DockerStack] {
        let filter = project.map { "label=\(Self.projectLabel)=\($0)" } ?? "label=\(Self.projectLabel)"
        let ids = try lines(docker.run(["ps", "-a", "-q", "--no-trunc", "--filter", filter]))
        let containers: [InspectedContainer] =
            ids.isEmpty ? [] : try JSONDecoder().decode([InspectedContainer].self, from: docker.run(["inspect", "--type", "container"] + ids))
        let volumeNames = try lines(docker.run(["volume", "ls", "-q", "--filter", filter]))
        var mountedVolumes = Set<String>()
        for container in containers {
            for mount in container.Mounts ?? [] where mount.type == "volume" { if let name = mount.Name { mountedVolumes.insert(name) } }
        }
        let allVolumes = Array(Set(volumeNames).union(mountedVolumes)).sorted()
        let volumes: [InspectedVolume] =
            allVolumes.isEmpty ? [] : try JSONDecoder().decode([InspectedVolume].self, from: docker.run(["volume", "inspect"] + allVolumes))
        return assemble(containers: containers, volumes: volumes, project: project)
    }

    func assemble(containers: [InspectedContainer], volumes: [InspectedVolume], project: String?) -> [DockerStack] {
        var projects: [String: [InspectedContainer]] = [:]
        for container in containers {
            let labels = container.Config.Labels ?? [:]
            guard let name = labels[Self.projectLabel], labels[Self.oneOffLabel]?.lowercased() != "true" else { continue }
            projects[name, default: []].append(container)
        }
        for volume in volumes {
            if let name = volume.Labels?[Self.projectLabel], projects[name] == nil { projects[name] = [] }
        }
        if let project { projects = projects.filter { $0.key == project } }
        let volumesByName = Dictionary(volumes.map { ($0.Name, $0) }) { first, _ in first }

        return projects.keys.sorted().map { name in
            let members = projects[name] ?? []
            let labels = members.first?.Config.Labels ?? [:]
            let directory = labels[Self.workingDirLabel]
            let configFiles = (labels[Self.configFilesLabel] ?? "").split(separator: ",").map { file -> String in
                let path = String(file).trimmingCharacters(in: .whitespaces)
                guard !path.hasPrefix("/"), let directory else { return path }
                return (directory as NSString).appendingPathComponent(path)
            }

            var services: [String: StackService] = [:]
            var bindMounts: [StackBindMount] = []
            var stackVolumes: [String: StackVolume] = [:]
            for container in members.sorted(by: { $0.Name < $1.Name }) {
                let containerLabels = container.Config.Labels ?? [:]
                let serviceName = containerLabels[Self.serviceLabel] ?? container.Name.trimmingCharacters(in: CharacterSet(charactersIn: "/"))
                var service =
                    services[serviceName]
                    ?? StackService(
                        name: serviceName, image: container.Config.Image ?? "", state: container.State.Status ?? "unknown", containers: [],
                        database: StackDatabaseEngine.recognise(image: container.Config.Image ?? "", environment: container.Config.Env ?? []),
                        stopForBackup: containerLabels[Self.stopLabel]?.lowercased() == "true",
                        dumpDisabled: containerLabels[Self.dumpLabel]?.lowercased() == "false", volumes: [])
                service.containers.append(container.Name.trimmingCharacters(in: CharacterSet(charactersIn: "/")))
                for mount in container.Mounts ?? [] {
                    if mount.type == "bind", let source = mount.Source {
                        let inside = directory.map { source == $0 || source.hasPrefix($0.hasSuffix("/") ? $0 : $0 + "/") } ?? false
                        bindMounts.append(StackBindMount(service: serviceName, source: source, destination: mount.Destination, insideProject: inside))
                    } else if mount.type == "volume", let engineName = mount.Name {
                        let volume = volumesByName[engineName]
                        let shortName = volume?.Labels?[Self.volumeLabel] ?? engineName
                        if !service.volumes.contains(shortName) { service.volumes.append(shortName) }
                        if stackVolumes[shortName] == nil {
                            stackVolumes[shortName] = makeVolume(
                                shortName: shortName, engineName: engineName, inspected: volume, fallback: mount.Source)
                        }
                    }
                }
                services[serviceName] = service
            }
            for volume in volumes where volume.Labels?[Self.projectLabel] == name {
                let shortName = volume.Labels?[Self.volumeLabel] ?? volume.Name
                if stackVolumes[shortName] == nil {
                    stackVolumes[shortName] = makeVolume(shortName: shortName, engineName: volume.Name, inspected: volume, fallback: nil)
                }
            }
            return DockerStack(
                project: name, directory: directory, configFiles: configFiles,
                services: services.keys.sorted().compactMap { services[$0] },
                volumes: stackVolumes.keys.sorted().compactMap { stackVolumes[$0] },
                bindMounts: bindMounts.sorted { ($0.service, $0.source) < ($1.service, $1.source) })
        }
    }

    private func makeVolume(shortName: String, engineName: String, inspected: InspectedVolume?, fallback: String?) -> StackVolume {
        let mountpoint = inspected?.Mountpoint ?? fallback ?? ""
        return StackVolume(
            name: shortName, engineName: engineName, mountpoint: mountpoint,
            sizeBytes: measureVolumes && !mountpoint.isEmpty ? Self.size(of: mountpoint) : nil,
            excluded: inspected?.Labels?[Self.excludeLabel]?.lowercased() == "true")
    }

    /// Bytes of the regular files under `path` (symbolic links not followed); nil when unreadable.
    static func size(of path: String) -> Int64? {
        guard FileManager.default.isReadableFile(atPath: path),
            let enumerator = FileManager.default.enumerator(
                at: URL(fileURLWithPath: path), includingPropertiesForKeys: [.isRegularFileKey, .fileSizeKey], options: [])
        else { return nil }
        var total: Int64 = 0
        for case let url as URL in enumerator {
            guard let values = try? url.resourceValues(forKeys: [.isRegularFileKey, .fileSizeKey]), values.isRegularFile == true else {
                continue
            }
            total += Int64(values.fileSize ?? 0)
        }
        return total
    }

    private func lines(_ data: Data) -> [String] {
        String(decoding: data, as: UTF8.self).split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }
}

/// The parts of `docker inspect` (a container) the discovery reads.
struct InspectedContainer: Decodable, Sendable {
    struct Configuration: Decodable, Sendable {
        var Image: String?
        var Labels: [String: String]?
        var Env: [String]?
    }
    struct ContainerState: Decodable, Sendable {
        var Status: String?
    }
    struct Mount: Decodable, Sendable {
        var type: String
        var Name: String?
        var Source: String?
        var Destination: String

        enum CodingKeys: String, CodingKey {
            case type = "Type"
            case Name, Source, Destination
        }
    }
    var Id: String
    var Name: String
    var Config: Configuration
    var State: ContainerState
    var Mounts: [Mount]?
}

/// The parts of `docker volume inspect` the discovery reads.
struct InspectedVolume: Decodable, Sendable {
    var Name: String
    var Mountpoint: String?
    var Labels: [String: String]?
}
