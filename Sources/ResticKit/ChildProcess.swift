import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// How a child process ended.
struct Termination: Sendable, Equatable {
    /// The exit status, or the signal number when `signaled`.
    let status: Int32
    let signaled: Bool

    var succeeded: Bool { !signaled && status == 0 }

    var summary: String { signaled ? "was killed by signal \(status)" : "exited with status \(status)" }
}

/// Reads one pipe on a dedicated thread (never on the cooperative pool), splitting lines for a
/// handler and keeping either everything or only a bounded tail.
final class OutputReader: @unchecked Sendable {
    let pipe = Pipe()
    private let lock = NSLock()
    private let keepAllLimit: Int
    private let tailLimit: Int
    private let onLine: (@Sendable (String) -> Void)?
    private var all = Data()
    private var tail = Data()
    private var pendingLine = Data()
    private var truncated = false
    private var finished = false
    private var waiters: [CheckedContinuation<Void, Never>] = []

    /// - Parameters:
    ///   - keepAllLimit: bytes kept from the start (0 keeps none).
    ///   - tailLimit: bytes kept from the end.
    init(keepAllLimit: Int = 0, tailLimit: Int = 64 * 1024, onLine: (@Sendable (String) -> Void)? = nil) {
        self.keepAllLimit = keepAllLimit
        self.tailLimit = tailLimit
        self.onLine = onLine
    }

    func start() {
        let thread = Thread { [self] in self.readLoop() }
        thread.name = "ResticKit.OutputReader"
        thread.start()
    }

    private func readLoop() {
        // read(2) itself: FileHandle.read(upToCount:) waits for the full count (or EOF), which
        // would hold restic's progress lines back until it exits.
        let handle = pipe.fileHandleForReading
        let fd = handle.fileDescriptor
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { break }
            consume(Data(buffer[0..<count]))
        }
        if !pendingLine.isEmpty, let onLine {
            onLine(String(decoding: pendingLine, as: UTF8.self))
        }
        pendingLine = Data()
        try? handle.close()
        let toResume: [CheckedContinuation<Void, Never>] = lock.withLock {
            finished = true
            defer { waiters = [] }
            return waiters
        }
        toResume.forEach { $0.resume() }
    }

    private func consume(_ chunk: Data) {
        lock.withLock {
            if keepAllLimit > 0 {
                let room = keepAllLimit - all.count
                if room >= chunk.count {
                    all.append(chunk)
                } else {
                    if room > 0 { all.append(chunk.prefix(room)) }
                    truncated = true
                }
            }
            tail.append(chunk)
            if tail.count > tailLimit { tail = Data(tail.suffix(tailLimit)) }
        }
        guard let onLine else { return }
        pendingLine.append(chunk)
        while let newline = pendingLine.firstIndex(of: 0x0A) {
            var line = pendingLine[pendingLine.startIndex..<newline]
            if line.last == 0x0D { line = line.dropLast() }
            onLine(String(decoding: line, as: UTF8.self))
            pendingLine = Data(pendingLine[pendingLine.index(after: newline)...])
        }
        if pendingLine.count > 16 * 1024 * 1024 { pendingLine = Data() }  // no line is that long
    }

    /// Returns once the writer side is closed by every process holding it.
    func waitForEnd() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let done = lock.withLock {
                if finished { return true }
                waiters.append(continuation)
                return false
            }
            if done { continuation.resume() }
        }
    }

    var allText: String { lock.withLock { String(decoding: all, as: UTF8.self) } }
    var allData: Data { lock.withLock { all } }
    var tailText: String { lock.withLock { String(decoding: tail, as: UTF8.self) } }
    /// True once every holder of the writing end closed it (the output is complete).
    var isFinished: Bool { lock.withLock { finished } }
    var wasTruncated: Bool { lock.withLock { truncated } }
}

/// One child process: started from an absolute path with an explicit environment, waited for
/// without blocking a thread of the cooperative pool, and stoppable (SIGINT, then SIGKILL of its
/// whole process group after a grace period). Foundation starts every child in its own group.
final class ChildProcess: @unchecked Sendable {
    private let process = Process()
    fileprivate let lock = NSLock()
    private var termination: Termination?
    private var waiters: [CheckedContinuation<Termination, Never>] = []
    fileprivate var pid: pid_t = 0
    fileprivate var stopRequested = false

    init(executable: String, arguments: [String], environment: [String: String]) {
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = environment
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        process.terminationHandler = { [self] finished in
            let ended = Termination(
                status: finished.terminationStatus,
                signaled: finished.terminationReason == .uncaughtSignal
            )
            let toResume: [CheckedContinuation<Termination, Never>] = lock.withLock {
                termination = ended
                defer { waiters = [] }
                return waiters
            }
            toResume.forEach { $0.resume(returning: ended) }
            finished.terminationHandler = nil  // the handler holds this object: break the cycle
        }
    }

    /// A Pipe (Foundation closes the parent's copy of the child's end) or a FileHandle (kept open).
    func setStandardInput(_ input: Any) { process.standardInput = input }
    func setStandardOutput(_ output: Any) { process.standardOutput = output }
    func setStandardError(_ output: Any) { process.standardError = output }
    func setCurrentDirectory(_ path: String) { process.currentDirectoryURL = URL(fileURLWithPath: path, isDirectory: true) }

    /// Starts the process. Returns false when a stop was requested before it could start.
    ///
    /// The spawn happens on a fresh thread whose signal mask is empty: a child inherits the mask of
    /// the thread that spawns it, and the threads of Swift's cooperative pool block SIGINT and
    /// most other signals, which would leave restic and the producer deaf to `stop`.
    func start() async throws -> Bool {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Bool, any Error>) in
            let thread = Thread { [self] in
                var empty = sigset_t()
                sigemptyset(&empty)
                pthread_sigmask(SIG_SETMASK, &empty, nil)
                continuation.resume(with: Result { try self.spawn() })
            }
            thread.name = "ResticKit.spawn"
            thread.start()
        }
    }

    private func spawn() throws -> Bool {
        try lock.withLock {
            if stopRequested { return false }
            try process.run()
            pid = process.processIdentifier
            return true
        }
    }

    var wasStopped: Bool { lock.withLock { stopRequested } }

    func waitForExit() async -> Termination {
        await withCheckedContinuation { (continuation: CheckedContinuation<Termination, Never>) in
            let ended: Termination? = lock.withLock {
                if let termination { return termination }
                waiters.append(continuation)
                return nil
            }
            if let ended { continuation.resume(returning: ended) }
        }
    }

    /// SIGINT now (restic then removes its lock and exits), SIGKILL to the process group after `grace`.
    func stop(grace: Duration) {
        let target: pid_t? = lock.withLock {
            stopRequested = true
            return termination == nil && pid > 0 ? pid : nil
        }
        guard let target else { return }
        kill(target, SIGINT)
        let seconds = Double(grace.components.seconds) + Double(grace.components.attoseconds) / 1e18
        DispatchQueue.global().asyncAfter(deadline: .now() + seconds) { [self] in
            let stillRunning = lock.withLock { termination == nil }
            if stillRunning {
                kill(-target, SIGKILL)
                kill(target, SIGKILL)
            }
        }
    }
}

extension ChildProcess {
    /// SIGTERM to the whole process group now, SIGKILL to it after `grace` (whether or not the
    /// leader is gone): a shell's children go too (job hooks).
    func stopGroup(grace: Duration) {
        let target: pid_t? = lock.withLock {
            stopRequested = true
            return pid > 0 ? pid : nil
        }
        guard let target else { return }
        kill(-target, SIGTERM)
        kill(target, SIGTERM)
        let seconds = Double(grace.components.seconds) + Double(grace.components.attoseconds) / 1e18
        DispatchQueue.global().asyncAfter(deadline: .now() + seconds) {
            kill(-target, SIGKILL)
        }
    }
}

/// A pipe whose both ends the parent closes itself once both children hold their copy:
/// producer stdout → restic stdin, with no temporary file.
final class BridgePipe: @unchecked Sendable {
    let reading: FileHandle
    let writing: FileHandle

    init() throws {
        var fds: [Int32] = [-1, -1]
        // Foundation closes every other descriptor in the children it starts; FD_CLOEXEC covers the rest.
        guard pipe(&fds) == 0 else {
            throw ResticError(kind: .other, message: "could not create a pipe: \(String(cString: strerror(errno)))")
        }
        _ = fcntl(fds[0], F_SETFD, FD_CLOEXEC)
        _ = fcntl(fds[1], F_SETFD, FD_CLOEXEC)
        reading = FileHandle(fileDescriptor: fds[0], closeOnDealloc: true)
        writing = FileHandle(fileDescriptor: fds[1], closeOnDealloc: true)
    }

    func closeReading() { try? reading.close() }
    func closeWriting() { try? writing.close() }
}

enum ExecutableLookup {
    static let defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

    /// An absolute path for `name`: itself when it holds a slash, else the first match in PATH.
    static func resolve(_ name: String, path: String? = nil) -> String? {
        let fileManager = FileManager.default
        if name.contains("/") {
            return fileManager.isExecutableFile(atPath: name) ? name : nil
        }
        let searchPath = path ?? ProcessInfo.processInfo.environment["PATH"] ?? defaultPath
        for directory in searchPath.split(separator: ":") where !directory.isEmpty {
            let candidate = "\(directory)/\(name)"
            var isDirectory: ObjCBool = false
            if fileManager.fileExists(atPath: candidate, isDirectory: &isDirectory), !isDirectory.boolValue,
                fileManager.isExecutableFile(atPath: candidate)
            {
                return candidate
            }
        }
        return nil
    }

    /// The environment every child starts from: PATH and HOME only, nothing else of ours.
    static func baseEnvironment() -> [String: String] {
        let parent = ProcessInfo.processInfo.environment
        var base: [String: String] = ["PATH": parent["PATH"].flatMap { $0.isEmpty ? nil : $0 } ?? defaultPath]
        base["HOME"] = parent["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory()
        return base
    }
}
