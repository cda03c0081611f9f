import Foundation
import Testing
import TrustedHTTP

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// What the package test needs on the machine: root (chroot, mounts), dpkg-deb and the built binaries.
enum PackageTestTools {
    static var available: Bool {
        getuid() == 0 && CommandRunner.locateBinary("mzpanel") != nil && CommandRunner.locateBinary("mzpanel-agent") != nil
            && ["/usr/bin/dpkg-deb", "/usr/sbin/chroot", "/usr/bin/unshare"].allSatisfy { FileManager.default.isExecutableFile(atPath: $0) }
    }
}

/// `scripts/package` builds the two .deb files from the binaries next to the tests; they install
/// with `dpkg -i` in a copy of a clean Debian 12 root, the hub runs there as its system user, and
/// remove and purge leave the root as it was.
@Suite("Debian packages", .serialized, .enabled(if: PackageTestTools.available, "needs root, dpkg-deb, chroot, unshare and the built binaries"))
struct DebianPackageTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static let shell = CommandRunner(binary: URL(fileURLWithPath: "/bin/bash"), environment: ProcessInfo.processInfo.environment)

    /// Runs a command inside `root` in a private mount namespace with /proc and, for binaries that
    /// load it, the toolchain's Swift runtime mounted read-only.
    struct Chroot {
        let root: URL
        let runtime: String?

        func command(_ arguments: [String]) -> [String] {
            var script = "set -e; mount -t proc proc \"$0/proc\"; "
            if let runtime { script += "mount --bind -o ro '\(runtime)' \"$0\(runtime)\"; " }
            script += "exec chroot \"$0\" \"$@\""
            return ["/usr/bin/unshare", "--mount", "--propagation", "private", "/bin/sh", "-c", script, root.path] + arguments
        }

        @discardableResult
        func run(_ arguments: [String]) async throws -> CommandResult {
            let line = command(arguments)
            let runner = CommandRunner(binary: URL(fileURLWithPath: line[0]), environment: ["PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C"])
            return try await runner.run(Array(line.dropFirst()))
        }
    }

    /// Every path in the root with its type, owner and mode, without dpkg's own records and logs.
    static func inventory(_ root: URL) async throws -> Set<String> {
        let listed = try await shell.run([
            "-c",
            "cd \"$0\" && find . -xdev \\( -path ./var/lib/dpkg -o -path ./var/log -o -path ./var/cache -o -path ./proc -o -path ./tmp \\) -prune -o -printf '%p %y %u %g %m\\n'",
            root.path,
        ])
        #expect(listed.status == 0, "\(listed.stderr)")
        return Set(listed.stdout.split(separator: "\n").map(String.init))
    }

    @Test("both packages install with dpkg -i, run there, and remove and purge cleanly")
    func installAndRemove() async throws {
        let binaries = try #require(CommandRunner.locateBinary("mzpanel")).deletingLastPathComponent()
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("mzpanel-deb-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        defer { _ = try? Self.shell.runBlocking(["-c", "rm -rf \"$0\"", work.path]) }

        let packaged = try await Self.shell.run([
            Self.repository.appendingPathComponent("scripts/package").path, "--bin-dir", binaries.path, "--out",
            work.appendingPathComponent("dist").path, "--fast",
        ])
        #expect(packaged.status == 0, "\(packaged.stderr)")
        let debs = packaged.stdout.split(separator: "\n").map(String.init).filter { $0.hasSuffix(".deb") }
        #expect(debs.count == 2, "\(packaged.stdout)")
        let hubDeb = try #require(debs.first { $0.contains("/mzpanel_") })
        let agentDeb = try #require(debs.first { $0.contains("/mzpanel-agent_") })
        let fields = try await Self.shell.run(["-c", "dpkg-deb -f \"$0\" Package Version Depends", hubDeb])
        #expect(fields.stdout.contains("Package: mzpanel\n") && fields.stdout.contains("libcurl4"), "\(fields.stdout)")

        let cached = try await Self.shell.run([Self.repository.appendingPathComponent("scripts/debian-root").path])
        #expect(cached.status == 0, "\(cached.stderr)")
        let source = try #require(cached.stdout.split(separator: "\n").last.map(String.init))
        let root = work.appendingPathComponent("root")
        #expect(try await Self.shell.run(["-c", "cp -a \"$0\" \"$1\"", source, root.path]).status == 0)
        // Debug binaries load the Swift runtime from the toolchain; release packages carry it.
        let needed = try await Self.shell.run([
            "-c", "objdump -p \"$0\" | awk '/RUNPATH|RPATH/ {print $2}'", binaries.appendingPathComponent("mzpanel").path,
        ])
        let runtime = needed.stdout.split(separator: ":").map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
            .first { FileManager.default.fileExists(atPath: $0 + "/libswiftCore.so") }
        if let runtime { try FileManager.default.createDirectory(atPath: root.path + runtime, withIntermediateDirectories: true) }
        let before = try await Self.inventory(root)
        let chroot = Chroot(root: root, runtime: runtime)
        for deb in [hubDeb, agentDeb] {
            try FileManager.default.copyItem(atPath: deb, toPath: root.appendingPathComponent("tmp/" + (deb as NSString).lastPathComponent).path)
        }
        let installed = try await chroot.run(["sh", "-c", "dpkg -i /tmp/mzpanel_*.deb /tmp/mzpanel-agent_*.deb"])
        #expect(installed.status == 0, "\(installed.stdout)\(installed.stderr)")

        let version = try await chroot.run(["mzpanel", "--version"])
        #expect(version.status == 0 && version.stdout.hasPrefix("0."), "\(version.stdout)\(version.stderr)")
        #expect(try await chroot.run(["mzpanel-agent", "--version"]).status == 0)
        #expect(try await chroot.run(["mzpanel", "serve", "--help"]).stdout.contains("--tls-cert"))
        let user = try await chroot.run(["getent", "passwd", "mzpanel"])
        #expect(user.stdout.hasSuffix(":/var/lib/mzpanel:/usr/sbin/nologin\n"), "\(user.stdout)")
        let modes = try await chroot.run(["stat", "-c", "%n %U %G %a", "/var/lib/mzpanel", "/etc/mzpanel/hub.env", "/var/lib/mzpanel-agent"])
        #expect(modes.stdout == "/var/lib/mzpanel mzpanel mzpanel 700\n/etc/mzpanel/hub.env root mzpanel 640\n/var/lib/mzpanel-agent root root 700\n")
        #expect(FileManager.default.fileExists(atPath: root.appendingPathComponent("lib/systemd/system/mzpanel-hub.service").path))

        // The hub runs there as its user with the packaged settings, answering on loopback.
        let port = Int.random(in: 20_000..<50_000)
        let line = chroot.command([
            "setpriv", "--reuid=mzpanel", "--regid=mzpanel", "--init-groups", "env", "MZPANEL_DATA_DIR=/var/lib/mzpanel",
            "MZPANEL_LISTEN=127.0.0.1:\(port)", "mzpanel", "serve",
        ])
        let hub = Process()
        hub.executableURL = URL(fileURLWithPath: line[0])
        hub.arguments = Array(line.dropFirst())
        hub.environment = ["PATH": "/usr/sbin:/usr/bin:/sbin:/bin"]
        let hubLog = work.appendingPathComponent("hub.log")
        FileManager.default.createFile(atPath: hubLog.path, contents: nil)
        let logHandle = try FileHandle(forWritingTo: hubLog)
        hub.standardOutput = logHandle
        hub.standardError = logHandle
        try hub.run()
        var status: Int?
        for _ in 0..<150 where status == nil && hub.isRunning {
            let health = URLRequest(url: try #require(URL(string: "http://127.0.0.1:\(port)/api/health")), timeoutInterval: 2)
            status = try? await CurlClient.data(for: health, trust: .system).1.statusCode
            if status == nil { try await Task.sleep(for: .milliseconds(200)) }
        }
        hub.terminate()
        hub.waitUntilExit()
        #expect(status == 200, "the packaged hub did not answer in the root: \((try? String(contentsOf: hubLog, encoding: .utf8)) ?? "")")
        // Its web UI's files come from the package (/usr/share/mzpanel/web).
        #expect(FileManager.default.fileExists(atPath: root.appendingPathComponent("usr/share/mzpanel/web/templates").path))
        #expect(FileManager.default.fileExists(atPath: root.appendingPathComponent("var/lib/mzpanel/hub.sqlite").path))

        let removed = try await chroot.run(["dpkg", "-r", "mzpanel", "mzpanel-agent"])
        #expect(removed.status == 0, "\(removed.stdout)\(removed.stderr)")
        #expect(!FileManager.default.fileExists(atPath: root.appendingPathComponent("usr/bin/mzpanel").path))
        #expect(!FileManager.default.fileExists(atPath: root.appendingPathComponent("lib/systemd/system/mzpanel-hub.service").path))
        // Removing keeps the settings and the state.
        #expect(FileManager.default.fileExists(atPath: root.appendingPathComponent("etc/mzpanel/hub.env").path))
        #expect(FileManager.default.fileExists(atPath: root.appendingPathComponent("var/lib/mzpanel/hub.sqlite").path))

        let purged = try await chroot.run(["dpkg", "--purge", "mzpanel", "mzpanel-agent"])
        #expect(purged.status == 0, "\(purged.stdout)\(purged.stderr)")
        #expect(try await chroot.run(["getent", "passwd", "mzpanel"]).status != 0)
        for deb in [hubDeb, agentDeb] {
            try? FileManager.default.removeItem(at: root.appendingPathComponent("tmp/" + (deb as NSString).lastPathComponent))
        }
        let after = try await Self.inventory(root)
        // useradd and userdel keep backups of the account files they edit: the system's, not the package's.
        let accountBackups: Set<String> = ["./etc/passwd-", "./etc/group-", "./etc/shadow-", "./etc/gshadow-", "./etc/.pwd.lock"]
        func relevant(_ entries: Set<String>) -> Set<String> { entries.filter { !accountBackups.contains(String($0.split(separator: " ")[0])) } }
        let leftBehind = relevant(after).subtracting(relevant(before)).sorted()
        let missing = relevant(before).subtracting(relevant(after)).sorted()
        #expect(leftBehind.isEmpty && missing.isEmpty, "left behind: \(leftBehind), missing: \(missing)")
    }
}
