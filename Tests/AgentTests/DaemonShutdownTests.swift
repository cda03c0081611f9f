import BackupCore
import Foundation
import LinkProtocol
import Logging
import ServiceLifecycle
import Testing

@testable import Agent

/// A listening socket nobody accepts from: requests connect, then wait forever.
final class SilentHub: Sendable {
    let fd: Int32
    let url: String

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.fd = fd
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
        guard bound == 0, listen(fd, 16) == 0 else { throw AgentError("cannot listen on 127.0.0.1") }
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        url = "http://127.0.0.1:\(UInt16(bigEndian: address.sin_port))"
    }

    deinit { close(fd) }
}

/// The daemon's graceful shutdown, in process: its service group against a hub that accepts
/// connections and never answers (so a long poll hangs), with child runs played by shell scripts.
@Suite("Daemon shutdown", .serialized)
struct DaemonShutdownTests {
    /// An enrolled state with one due job, and a daemon whose child runs are `script`.
    func daemon(in root: String, hub: SilentHub, script: String, shutdownGrace: Duration, stopGrace: Duration = .seconds(5)) throws -> Daemon {
        let job = try Fixtures.job(schedule: "daily 02:30", retention: .init(keepAll: true))
        let state = try Fixtures.enrolledState(in: root, jobs: [AgentJob(job: job, destinations: [], envelopes: [])], hubURL: hub.url)
        let binary = root + "/fake-agent"
        try Data(("#!/bin/sh\n" + script).utf8).write(to: URL(fileURLWithPath: binary))
        chmod(binary, 0o755)
        var options = Daemon.Options(firesSlots: true)
        options.tickInterval = 0.2
        options.shutdownGrace = shutdownGrace
        options.stopGrace = stopGrace
        return try Daemon(
            state: state, settings: AgentSettings(systemdDirectory: nil), options: options, agentBinary: binary, logger: Logger(label: "daemon-test"))
    }

    /// Runs the daemon's group until `marker` exists, shuts it down gracefully and returns how long the shutdown took.
    func runThenShutDown(_ daemon: Daemon, until marker: String) async throws -> Duration {
        let group = daemon.serviceGroup(logger: Logger(label: "daemon-test"), signals: [])
        return try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            var started = false
            for _ in 0..<200 where !started {
                started = FileManager.default.fileExists(atPath: marker)
                if !started { try await Task.sleep(for: .milliseconds(50)) }
            }
            #expect(started, "the daemon never started the run")
            let clock = ContinuousClock()
            let begin = clock.now
            await group.triggerGracefulShutdown()
            try await tasks.next()
            return clock.now - begin
        }
    }

    @Test("a run in progress finishes within the bound before the daemon stops; a hanging hub request does not hold it")
    func runFinishes() async throws {
        try await withTemporaryDirectory { root in
            let hub = try SilentHub()
            let daemon = try daemon(
                in: root, hub: hub, script: "touch \(root)/started\nsleep 2\ntouch \(root)/finished\n", shutdownGrace: .seconds(20))
            let took = try await runThenShutDown(daemon, until: root + "/started")
            #expect(FileManager.default.fileExists(atPath: root + "/finished"), "the daemon stopped before its run finished")
            #expect(took >= .milliseconds(500))
            #expect(took < .seconds(15))
        }
    }

    @Test("a run still going after the bound is asked to stop (SIGTERM), and the daemon then stops")
    func runStopped() async throws {
        try await withTemporaryDirectory { root in
            let hub = try SilentHub()
            let script = """
                trap 'touch \(root)/terminated; kill $pid; exit 143' TERM
                touch \(root)/started
                sleep 60 &
                pid=$!
                wait $pid
                touch \(root)/finished

                """
            let daemon = try daemon(in: root, hub: hub, script: script, shutdownGrace: .seconds(1))
            let took = try await runThenShutDown(daemon, until: root + "/started")
            #expect(FileManager.default.fileExists(atPath: root + "/terminated"), "the run was not asked to stop")
            #expect(!FileManager.default.fileExists(atPath: root + "/finished"))
            #expect(took >= .seconds(1))
            #expect(took < .seconds(5))
        }
    }
}
