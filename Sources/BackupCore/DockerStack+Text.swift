import Foundation

extension DockerStack {
    /// The stack as lines for a terminal: project and directory, then services (image, state,
    /// database), volumes (size, excluded) and bind mounts.
    public var textLines: [String] {
        var lines = ["\(project)  \(directory ?? "(no project directory)")"]
        for service in services {
            var notes: [String] = [service.state]
            if let database = service.database { notes.append("database: \(database.rawValue)" + (service.dumpDisabled ? " (not dumped)" : "")) }
            if service.stopForBackup { notes.append("stopped for the copy") }
            lines.append("  service \(service.name)  \(service.image)  \(notes.joined(separator: ", "))")
        }
        for volume in volumes {
            let size = volume.sizeBytes.map { ByteCountFormatter.string(fromByteCount: $0, countStyle: .binary) } ?? "size unknown"
            lines.append("  volume  \(volume.name)  \(volume.engineName)  \(size)" + (volume.excluded ? "  (excluded)" : ""))
        }
        for mount in bindMounts {
            lines.append(
                "  bind    \(mount.source) → \(mount.service):\(mount.destination)" + (mount.insideProject ? "  (in the project directory)" : ""))
        }
        return lines
    }
}
