import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Small POSIX file helpers with explicit permissions: the agent's state holds secrets, so files
/// are created with their final mode (never chmod-ed after being readable), written to a temporary
/// name, fsynced and renamed, so a crash leaves either the old or the new content, never half.
public enum SecureFile {
    /// Creates a directory (and missing parents) and sets its mode, e.g. 0700.
    public static func makeDirectory(_ path: String, mode: mode_t = 0o700) throws {
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            throw AgentError("cannot create the directory \(path) (\(errnoText())); check that the parent exists and that the agent runs as root")
        }
        if chmod(path, mode) != 0 {
            throw AgentError("cannot set permissions of \(path) (\(errnoText())); check its owner")
        }
    }

    /// Atomically replaces `path` with `data` (temp file + fsync + rename + directory fsync).
    public static func write(_ data: Data, to path: String, mode: mode_t = 0o600) throws {
        let directory = (path as NSString).deletingLastPathComponent
        let temp = directory + "/." + (path as NSString).lastPathComponent + ".tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let fd = open(temp, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, mode)
        guard fd >= 0 else {
            throw AgentError("cannot write \(path) (\(errnoText())); check that \(directory) exists and is writable by the agent")
        }
        var ok = writeAll(fd, data) && fsync(fd) == 0
        let failure = errnoText()
        ok = close(fd) == 0 && ok
        guard ok, rename(temp, path) == 0 else {
            let reason = ok ? errnoText() : failure
            unlink(temp)
            throw AgentError("cannot write \(path) (\(reason)); check free disk space and permissions")
        }
        syncDirectory(directory)
    }

    /// Creates `path` only if it does not exist (O_EXCL): true when this call created it.
    /// Exactly one of several concurrent callers (threads or processes) gets true.
    public static func createExclusive(_ path: String, contents: Data = Data(), mode: mode_t = 0o600) throws -> Bool {
        let fd = open(path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, mode)
        if fd < 0 {
            if errno == EEXIST { return false }
            throw AgentError("cannot create \(path) (\(errnoText())); check that the agent's state directory is writable")
        }
        _ = writeAll(fd, contents)
        fsync(fd)
        close(fd)
        syncDirectory((path as NSString).deletingLastPathComponent)
        return true
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

    static func writeAll(_ fd: Int32, _ data: Data) -> Bool {
        data.withUnsafeBytes { buffer -> Bool in
            guard var pointer = buffer.baseAddress else { return true }
            var left = buffer.count
            while left > 0 {
                let written = systemWrite(fd, pointer, left)
                if written < 0 {
                    if errno == EINTR { continue }
                    return false
                }
                left -= written
                pointer = pointer.advanced(by: written)
            }
            return true
        }
    }

    static func syncDirectory(_ directory: String) {
        let fd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return }
        fsync(fd)
        close(fd)
    }

    static func errnoText(_ code: Int32 = errno) -> String {
        String(cString: strerror(code))
    }
}

private func systemWrite(_ fd: Int32, _ pointer: UnsafeRawPointer, _ count: Int) -> Int {
    #if canImport(Glibc)
        Glibc.write(fd, pointer, count)
    #else
        Darwin.write(fd, pointer, count)
    #endif
}
