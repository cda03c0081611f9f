import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// An exclusive `flock` on a file, held for the duration of `body`. The kernel releases it when
/// the process dies, so a crash never leaves it stuck.
public enum FileLock {
    public static func withLock<T>(_ path: String, _ body: () throws -> T) throws -> T {
        let fd = open(path, O_CREAT | O_RDWR | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw AgentError("cannot open the lock file \(path) (\(SecureFile.errnoText())); check the state directory's permissions")
        }
        defer { close(fd) }
        while flock(fd, LOCK_EX) != 0 {
            if errno != EINTR { throw AgentError("cannot lock \(path) (\(SecureFile.errnoText()))") }
        }
        defer { flock(fd, LOCK_UN) }
        return try body()
    }
}
