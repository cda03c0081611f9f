import Foundation
import ResticKit

/// restic's version, asked once per installed binary: `restic-version` in the state directory holds
/// the executable's path, its identity (inode, size, modification time) and the version it printed.
/// A run whose restic has the same identity starts no `restic version`; an upgraded or replaced
/// binary (new inode, size or time) is asked again.
enum KnownRestic {
    static func detect(state: AgentState) async throws -> Restic {
        guard let path = ProgramLocator.find("restic"), let identity = identity(of: path) else { return try await Restic.detect() }
        let file = state.directory + "/restic-version"
        if let data = try? SecureFile.read(file) {
            let lines = String(decoding: data, as: UTF8.self).split(separator: "\n").map(String.init)
            if lines.count == 3, lines[0] == path, lines[1] == identity, let version = ResticVersion(parsing: lines[2]) {
                return Restic(executablePath: path, version: version)
            }
        }
        let restic = try await Restic.detect(executable: path)
        try? SecureFile.write(Data("\(path)\n\(identity)\n\(restic.version)\n".utf8), to: file)
        return restic
    }

    /// Inode, size and modification time (ns) of the file a path leads to.
    static func identity(of path: String) -> String? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return "\(info.st_dev)-\(info.st_ino)-\(info.st_size)-\(info.st_mtim.tv_sec).\(info.st_mtim.tv_nsec)"
    }
}
