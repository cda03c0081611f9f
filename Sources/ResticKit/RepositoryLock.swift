import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// One operation at a time per repository on this machine, across tasks and processes.
///
/// The lock is `flock(LOCK_EX)` on `<directory>/restic-<FNV-1a of the location>.lock` (created 0600,
/// never deleted). A process that dies holding it releases it with its file descriptors, so no
/// stale lock can outlive a crash. Waiting polls with LOCK_NB every ~100 ms and sleeps in between,
/// so no thread of the cooperative pool blocks. Two tasks of one process exclude each other too:
/// each opens the file on its own, and flock locks belong to the open file.
public enum RepositoryLock {
    /// Runs `body` while holding the lock of `repository`, waiting as long as another holds it.
    /// Throws `.interrupted` if the task is cancelled while waiting, `.permissionDenied`/`.other`
    /// if the lock file cannot be created.
    @discardableResult
    public static func withLock<T>(
        directory: String,
        repository: String,
        _ body: () async throws -> T
    ) async throws -> T {
        let path = lockFilePath(directory: directory, repository: repository)
        let fd = try openLockFile(path, directory: directory)
        defer { close(fd) }
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let code = errno
            guard code == EWOULDBLOCK || code == EAGAIN || code == EINTR else {
                throw ResticError(kind: .other, message: "could not lock \(path): \(String(cString: strerror(code)))")
            }
            do {
                try await Task.sleep(for: .milliseconds(100))
            } catch {
                throw ResticError.interrupted("waiting for another operation on this repository")
            }
        }
        defer { flock(fd, LOCK_UN) }
        return try await body()
    }

    /// `<directory>/restic-<16 hex digits>.lock`, stable across runs and machines for one location.
    public static func lockFilePath(directory: String, repository: String) -> String {
        let name = "restic-\(fnv1a64Hex(repository)).lock"
        return directory.hasSuffix("/") ? directory + name : directory + "/" + name
    }

    /// FNV-1a, 64 bits, as 16 lowercase hex digits.
    static func fnv1a64Hex(_ text: String) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        let hex = String(hash, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }

    private static func openLockFile(_ path: String, directory: String) throws -> Int32 {
        do {
            try FileManager.default.createDirectory(
                atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700]
            )
        } catch {
            throw ResticError(kind: .permissionDenied, message: "the lock directory \(directory) cannot be created: \(error.localizedDescription)")
        }
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            let code = errno
            let kind: ResticError.Kind = code == EACCES || code == EPERM ? .permissionDenied : .other
            throw ResticError(kind: kind, message: "the lock file \(path) cannot be opened: \(String(cString: strerror(code)))")
        }
        return fd
    }
}
