import Foundation
import SecretFiles

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Small POSIX file helpers with explicit permissions: the agent's state holds secrets, so files
/// are created with their final mode (never chmod-ed after being readable), written to a temporary
/// name, fsynced and renamed, so a crash leaves either the old or the new content, never half.
public enum SecureFile {
    /// Creates a directory (missing parents as usual) whose last part is made with `mode` in one
    /// `mkdir`, so it is never wider; an existing one of the agent's state is set to `mode`.
    public static func makeDirectory(_ path: String, mode: mode_t = 0o700) throws {
        let parent = (path as NSString).deletingLastPathComponent
        do {
            if !parent.isEmpty && !FileManager.default.fileExists(atPath: parent) {
                try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true)
            }
        } catch {
            throw AgentError("cannot create the directory \(parent) (\(errnoText())); check that the agent runs as root")
        }
        if mkdir(path, mode) != 0 && errno != EEXIST {
            throw AgentError("cannot create the directory \(path) (\(errnoText())); check that the parent exists and that the agent runs as root")
        }
        if Self.mode(of: path) != mode, chmod(path, mode) != 0 {
            throw AgentError("cannot set permissions of \(path) (\(errnoText())); check its owner")
        }
    }

    /// Atomically replaces `path` with `data`, created with `mode` from the start (`SecretFile`).
    public static func write(_ data: Data, to path: String, mode: mode_t = 0o600) throws {
        do {
            try SecretFile.write(data, to: path, mode: mode)
        } catch {
            throw AgentError("\(error); check free disk space and that \((path as NSString).deletingLastPathComponent) is writable by the agent")
        }
    }

    /// Creates `path` with `contents` only if it does not exist: true when this call created it.
    /// Exactly one of several concurrent callers (threads or processes) gets true, and no caller
    /// ever reads a partly written file.
    public static func createExclusive(_ path: String, contents: Data = Data(), mode: mode_t = 0o600) throws -> Bool {
        do {
            return try SecretFile.create(contents, at: path, mode: mode)
        } catch {
            throw AgentError("\(error); check that the agent's state directory is writable")
        }
    }

    /// The file's contents, or nil when it does not exist.
    public static func read(_ path: String) throws -> Data? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw AgentError("cannot read \(path); check its permissions (the agent normally runs as root)")
        }
        return data
    }

    /// Removes a file; a file that is already gone is fine.
    public static func remove(_ path: String) {
        unlink(path)
    }

    /// Names of the entries of a directory (empty when it does not exist).
    public static func list(_ directory: String) -> [String] {
        (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
    }

    /// Permission bits of a file, or nil.
    public static func mode(of path: String) -> mode_t? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return info.st_mode & 0o7777
    }

    static func errnoText(_ code: Int32 = errno) -> String {
        String(cString: strerror(code))
    }
}
