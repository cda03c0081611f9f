import BackupCore
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// The directory a storage server keeps a peer destination's repositories in. The agent creates
/// it (0700, in one `mkdir`) and marks it as its own; it never changes the permissions of a
/// directory it finds. It refuses system directories (`DestinationSettings.peerRoot`), anything
/// that is not a plain directory, and a non-empty directory it did not create — unless that holds
/// only source servers' repositories (`srv_…/config`), as a root made by an earlier agent does.
enum PeerRoot {
    /// The mark of a root this agent created or adopted (not served: rclone serves only `/<server>/`).
    static let marker = ".mzpanel-peer-root"

    /// Makes `path` ready to serve; answers a warning to log, if any.
    static func prepare(_ path: String, destinationID: String) throws -> String? {
        do throws(DomainError) {
            _ = try DestinationSettings.peerRoot(path, field: "path")
        } catch {
            throw AgentError("the peer storage directory is refused: \(error.message)")
        }
        var info = stat()
        if lstat(path, &info) != 0 {
            guard errno == ENOENT else { throw AgentError("cannot inspect the peer storage directory \(path) (\(SecureFile.errnoText()))") }
            let parent = (path as NSString).deletingLastPathComponent
            try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true)
            if mkdir(path, 0o700) == 0 {
                try SecureFile.write(Data((destinationID + "\n").utf8), to: path + "/" + marker)
                return nil
            }
            guard errno == EEXIST, lstat(path, &info) == 0 else {
                throw AgentError("cannot create the peer storage directory \(path) (\(SecureFile.errnoText()))")
            }
        }
        guard info.st_mode & 0o170000 == 0o040000 else {
            throw AgentError("the peer storage path \(path) exists and is not a directory (a file or a symlink); choose a new directory")
        }
        if FileManager.default.fileExists(atPath: path + "/" + marker) { return nil }
        let entries = SecureFile.list(path)
        let repositoriesOnly =
            !entries.isEmpty
            && entries.allSatisfy { $0.hasPrefix("srv_") && FileManager.default.fileExists(atPath: path + "/" + $0 + "/config") }
        guard entries.isEmpty || repositoriesOnly else {
            throw AgentError(
                "the peer storage directory \(path) already holds files the agent did not put there (\(entries.sorted().prefix(3).joined(separator: ", "))); choose a new or empty directory"
            )
        }
        try SecureFile.write(Data((destinationID + "\n").utf8), to: path + "/" + marker)
        guard info.st_mode & 0o077 == 0 else {
            return
                "the peer storage directory \(path) is readable by other users (mode \(String(info.st_mode & 0o777, radix: 8))); the agent leaves existing permissions alone: chmod 700 it"
        }
        return nil
    }
}
