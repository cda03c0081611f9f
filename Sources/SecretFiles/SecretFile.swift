import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Writing files that hold secrets (tokens, keys, passwords, recovery keys): the content goes to
/// a new temporary file in the same directory, created with its final mode by one
/// `open(O_CREAT|O_EXCL|O_NOFOLLOW, 0600)` — never readable by anyone else, not even for a moment,
/// never through a planted symlink — fsynced, then renamed (replace) or linked (create only) into
/// place, so a reader sees the old content or the whole new one, never a part.
public enum SecretFile {
    /// Why a secret file could not be written: the path and the system's reason, never the content.
    public struct Failure: Error, Sendable, CustomStringConvertible {
        public let path: String
        public let reason: String
        public var description: String { "cannot write \(path) (\(reason))" }
    }

    /// Atomically replaces (or creates) `path` with `data`, mode `mode`.
    public static func write(_ data: Data, to path: String, mode: mode_t = 0o600) throws(Failure) {
        let temp = try temporary(data, for: path, mode: mode)
        guard rename(temp, path) == 0 else {
            let reason = errnoText()
            unlink(temp)
            throw Failure(path: path, reason: reason)
        }
        syncDirectory(directory(of: path))
    }

    /// Creates `path` with `data` only if nothing is there yet: true when this call created it.
    /// Of several concurrent callers exactly one gets true, and every reader sees the whole content.
    public static func create(_ data: Data, at path: String, mode: mode_t = 0o600) throws(Failure) -> Bool {
        let temp = try temporary(data, for: path, mode: mode)
        defer { unlink(temp) }
        guard link(temp, path) == 0 else {
            if errno == EEXIST { return false }
            throw Failure(path: path, reason: errnoText())
        }
        syncDirectory(directory(of: path))
        return true
    }

    /// The whole `data` in a new file next to `path`, created with `mode` and fsynced.
    private static func temporary(_ data: Data, for path: String, mode: mode_t) throws(Failure) -> String {
        let name = (path as NSString).lastPathComponent
        let temp = directory(of: path) + "/." + name + ".tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let fd = open(temp, O_CREAT | O_EXCL | O_NOFOLLOW | O_WRONLY | O_CLOEXEC, mode)
        guard fd >= 0 else { throw Failure(path: path, reason: errnoText()) }
        // The umask may have narrowed `mode`; the file is set to exactly `mode` before it holds anything.
        var ok = fchmod(fd, mode) == 0 && writeAll(fd, data) && fsync(fd) == 0
        let reason = errnoText()
        ok = close(fd) == 0 && ok
        guard ok else {
            unlink(temp)
            throw Failure(path: path, reason: reason)
        }
        return temp
    }

    static func directory(of path: String) -> String {
        let directory = (path as NSString).deletingLastPathComponent
        return directory.isEmpty ? "." : directory
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

    static func errnoText(_ code: Int32 = errno) -> String { String(cString: strerror(code)) }
}

private func systemWrite(_ fd: Int32, _ pointer: UnsafeRawPointer, _ count: Int) -> Int {
    #if canImport(Glibc)
        Glibc.write(fd, pointer, count)
    #else
        Darwin.write(fd, pointer, count)
    #endif
}
