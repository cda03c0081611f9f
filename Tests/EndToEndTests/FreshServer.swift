import Foundation
import Testing

/// A new Debian 12 server on this machine: the cached `debootstrap --variant=minbase bookworm` root
/// (scripts/fresh-server-root) under a throw-away overlay, in its own network namespace (a veth pair,
/// the host at .1 and the server at .2 of a /30), mount and PID namespaces, chrooted. No systemd runs
/// there, as on a container host. Commands run in it through nsenter; `shutdown()` kills it all.
final class FreshServer: @unchecked Sendable {
    static var cachedRoot: String {
        ProcessInfo.processInfo.environment["MZPANEL_TEST_FRESH_ROOT"] ?? "/var/cache/mzpanel-test/bookworm-agent"
    }

    /// Root, the namespace tools, and the cached root (made by scripts/fresh-server-root, which scripts/test runs).
    static var available: Bool {
        getuid() == 0 && FileManager.default.isExecutableFile(atPath: cachedRoot + "/usr/bin/restic")
            && ["/usr/sbin/ip", "/usr/bin/unshare", "/usr/bin/nsenter", "/usr/bin/mount"].allSatisfy(FileManager.default.isExecutableFile)
    }

    let directory: URL
    /// The server's root file system as the host sees it (write files here to put them on the server).
    let root: URL
    let namespace: String
    let hostAddress: String
    let serverAddress: String
    private let hostLink: String
    private var holder: Process?
    private var initPID: Int32 = 0

    init() async throws {
        let subnet = Int.random(in: 1...250)
        namespace = "mzpanel-fresh-\(subnet)"
        hostLink = "mzfresh\(subnet)h"
        hostAddress = "10.213.\(subnet).1"
        serverAddress = "10.213.\(subnet).2"
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("mzpanel-fresh-\(UUID().uuidString.prefix(8))")
        root = directory.appendingPathComponent("root")
        for name in ["upper", "work", "root"] {
            try FileManager.default.createDirectory(at: directory.appendingPathComponent(name), withIntermediateDirectories: true)
        }
        let dir = directory.path
        try await Self.host(
            """
            set -e
            mount -t overlay overlay -o lowerdir=\(Self.cachedRoot),upperdir=\(dir)/upper,workdir=\(dir)/work \(dir)/root
            ip netns del \(namespace) 2>/dev/null || true
            ip link del \(hostLink) 2>/dev/null || true
            ip netns add \(namespace)
            ip link add \(hostLink) type veth peer name eth0 netns \(namespace)
            ip addr add \(hostAddress)/30 dev \(hostLink)
            ip link set \(hostLink) up
            ip -n \(namespace) addr add \(serverAddress)/30 dev eth0
            ip -n \(namespace) link set eth0 up
            ip -n \(namespace) link set lo up
            echo fresh-server >\(dir)/root/etc/hostname
            """)
        // The server's "init": a process in the new namespaces, chrooted, that only waits; every
        // command then enters its namespaces and root.
        let holder = Process()
        holder.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
        holder.arguments = [
            "netns", "exec", namespace, "unshare", "--mount", "--pid", "--fork", "--propagation", "private", "/bin/sh", "-c",
            Self.runtimeMount(root: "\(dir)/root")
                + "mount --rbind /dev \(dir)/root/dev && mount -t proc proc \(dir)/root/proc && mount -t tmpfs -o mode=0755 tmpfs \(dir)/root/run"
                + " && exec chroot \(dir)/root /bin/sleep infinity",
        ]
        holder.standardOutput = FileHandle.nullDevice
        holder.standardError = FileHandle.nullDevice
        try holder.run()
        self.holder = holder
        for _ in 0..<100 {
            let children =
                (try? String(contentsOfFile: "/proc/\(holder.processIdentifier)/task/\(holder.processIdentifier)/children", encoding: .utf8))
                ?? ""
            if let child = children.split(separator: " ").first.flatMap({ Int32($0) }),
                let command = try? String(contentsOfFile: "/proc/\(child)/cmdline", encoding: .utf8), command.hasPrefix("/bin/sleep")
            {
                initPID = child
                break
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        if initPID == 0 {
            shutdown()
            throw CocoaError(.featureUnsupported, userInfo: [NSLocalizedDescriptionKey: "the fresh server's namespaces did not start"])
        }
    }

    /// Runs a shell command on the server as root (its stdin from `stdin`).
    /// A debug agent links the Swift runtime from the toolchain (MZPANEL_TEST_SWIFT_RUNTIME, set by
    /// scripts/test): mounted read-only at the same path in the root, so it runs there like the
    /// self-contained build; nothing when testing that build.
    static func runtimeMount(root: String) -> String {
        guard let runtime = ProcessInfo.processInfo.environment["MZPANEL_TEST_SWIFT_RUNTIME"], runtime.hasPrefix("/") else { return "" }
        return "mkdir -p \(root)\(runtime) && mount --bind -o ro \(runtime) \(root)\(runtime) && "
    }

    func run(_ script: String, stdin: String? = nil) async throws -> CommandResult {
        let arguments = ["/usr/bin/nsenter", "-t", String(initPID), "-m", "-p", "-n", "-r", "-w", "--", "/bin/sh", "-c", script]
        return try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(with: Result { try Self.spawn(arguments, stdin: stdin) }) }
        }
    }

    /// posix_spawn with only stdin, stdout and stderr open in the child. Foundation's `Process`
    /// hands its child a descriptor it watches to learn that the child ended; the agent daemon the
    /// install script starts would inherit it, and the command would seem to run as long as the daemon.
    static func spawn(_ arguments: [String], stdin: String?) throws -> CommandResult {
        var input: [Int32] = [0, 0]
        var output: [Int32] = [0, 0]
        var errors: [Int32] = [0, 0]
        guard pipe(&input) == 0, pipe(&output) == 0, pipe(&errors) == 0 else { throw CocoaError(.fileWriteUnknown) }
        // Not inherited by other children this process starts meanwhile (the child gets its copies by dup2).
        for fd in input + output + errors { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, input[0], 0)
        posix_spawn_file_actions_adddup2(&actions, output[1], 1)
        posix_spawn_file_actions_adddup2(&actions, errors[1], 2)
        // Every other descriptor closed in the child (glibc ignores one that is gone meanwhile).
        let mine = Set(input + output + errors)
        for name in (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? [] {
            if let fd = Int32(name), fd > 2, !mine.contains(fd) { posix_spawn_file_actions_addclose(&actions, fd) }
        }
        let environment = ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root", "TERM=dumb", "LANG=C.UTF-8"]
        let argv = arguments.map { strdup($0) } + [nil]
        let envp = environment.map { strdup($0) } + [nil]
        defer { for pointer in argv + envp { free(pointer) } }
        var pid: pid_t = 0
        let status = posix_spawn(&pid, arguments[0], &actions, nil, argv, envp)
        close(input[0])
        close(output[1])
        close(errors[1])
        guard status == 0 else {
            close(input[1])
            close(output[0])
            close(errors[0])
            throw CocoaError(.executableLoad, userInfo: [NSLocalizedDescriptionKey: "cannot start \(arguments[0]): \(status)"])
        }
        let writer = FileHandle(fileDescriptor: input[1], closeOnDealloc: true)
        if let stdin { writer.write(Data(stdin.utf8)) }
        try writer.close()
        let group = DispatchGroup()
        nonisolated(unsafe) var stderrData = Data()
        let errorReader = FileHandle(fileDescriptor: errors[0], closeOnDealloc: true)
        DispatchQueue.global().async(group: group) { stderrData = errorReader.readDataToEndOfFile() }
        let stdoutData = FileHandle(fileDescriptor: output[0], closeOnDealloc: true).readDataToEndOfFile()
        group.wait()
        var exit: Int32 = 0
        while waitpid(pid, &exit, 0) < 0 && errno == EINTR {}
        let code: Int32 = (exit & 0x7f) == 0 ? (exit >> 8) & 0xff : 128 + (exit & 0x7f)
        return CommandResult(
            status: code, stdout: String(decoding: stdoutData, as: UTF8.self), stderr: String(decoding: stderrData, as: UTF8.self))
    }

    /// Kills everything on the server (its PID namespace ends with its init) and removes it.
    func shutdown() {
        if initPID > 0 { kill(initPID, SIGKILL) }
        if let holder, holder.isRunning { holder.waitUntilExit() }
        holder = nil
        let dir = directory.path
        _ = try? Self.hostBlocking(
            """
            umount -l \(dir)/root 2>/dev/null
            ip netns del \(namespace) 2>/dev/null
            ip link del \(hostLink) 2>/dev/null
            rm -rf \(dir)
            true
            """)
    }

    @discardableResult
    private static func host(_ script: String) async throws -> CommandResult {
        let result = try await CommandRunner(binary: URL(fileURLWithPath: "/bin/sh"), environment: ProcessInfo.processInfo.environment).run([
            "-c", script,
        ])
        guard result.status == 0 else {
            throw CocoaError(.featureUnsupported, userInfo: [NSLocalizedDescriptionKey: "setting up the fresh server failed: \(result.stderr)"])
        }
        return result
    }

    private static func hostBlocking(_ script: String) throws -> CommandResult {
        try CommandRunner(binary: URL(fileURLWithPath: "/bin/sh"), environment: ProcessInfo.processInfo.environment).runBlocking(["-c", script])
    }
}
