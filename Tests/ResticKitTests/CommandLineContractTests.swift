import Foundation
import Testing

@testable import ResticKit

/// What ResticKit hands to restic (arguments, environment) and how it reads a restic 0.17, checked
/// against a stand-in script that reports version 0.17.3 and records how it was called.
@Suite("command-line contract with a restic 0.17 stand-in")
struct CommandLineContractTests {
    static let script = #"""
        #!/bin/sh
        PATH="$PATH:/usr/bin:/bin"
        if [ "$1" = "version" ]; then echo "restic 0.17.3 compiled with go1.23.1 on linux/amd64"; exit 0; fi
        printf '%s\n' "$@" > "$FAKE_LOG.args"
        env > "$FAKE_LOG.env"
        if [ -n "$FAKE_EXIT" ]; then echo "Fatal: simulated failure" >&2; exit "$FAKE_EXIT"; fi
        stdin=0
        for a in "$@"; do [ "$a" = "--stdin" ] && stdin=1; done
        while [ $# -gt 0 ] && [ "$1" != "--" ]; do shift; done
        summary='{"message_type":"summary","files_new":1,"total_files_processed":1,"total_bytes_processed":%d,"snapshot_id":"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"}\n'
        if [ $stdin = 1 ]; then data=$(cat); printf "$summary" ${#data}; exit 0; fi
        if [ "$1" = "--" ]; then
          shift
          name=$(basename "$1")
          data=$("$@" 2>"$FAKE_LOG.producer"); rc=$?
          if [ $rc -ne 0 ]; then
            sed "s/^/subprocess $name: /" "$FAKE_LOG.producer" >&2
            echo "Fatal: unable to save snapshot: command failed: exit status $rc" >&2
            exit 1
          fi
          printf "$summary" ${#data}
          exit 0
        fi
        echo '[]'
        """#

    struct StandIn {
        let root: URL
        let restic: Restic
        let log: String

        func arguments() throws -> [String] {
            try String(contentsOfFile: log + ".args", encoding: .utf8).split(separator: "\n").map(String.init)
        }

        func environment() throws -> [String: String] {
            var result: [String: String] = [:]
            for line in try String(contentsOfFile: log + ".env", encoding: .utf8).split(separator: "\n") {
                guard let equals = line.firstIndex(of: "=") else { continue }
                result[String(line[..<equals])] = String(line[line.index(after: equals)...])
            }
            return result
        }

        func repository(_ location: String, _ extra: [String: String] = [:]) -> ResticRepository {
            ResticRepository(location: location, environment: extra.merging(["FAKE_LOG": log]) { a, _ in a })
        }
    }

    static func withStandIn(_ body: (StandIn) async throws -> Void) async throws {
        try await withTemporaryDirectory { root in
            let path = root.appendingPathComponent("restic").path
            _ = FileManager.default.createFile(atPath: path, contents: Data(script.utf8), attributes: [.posixPermissions: 0o755])
            // A test running in parallel may be spawning a process at the moment the script is
            // written; that child holds the write descriptor until it execs, and running the
            // script then fails with ETXTBSY. Such a moment passes: try again.
            var attempt = 0
            var detected: Restic?
            while detected == nil {
                do {
                    detected = try await Restic.detect(executable: path)
                } catch let error as ResticError where error.kind == .notInstalled && attempt < 10 {
                    attempt += 1
                    try await Task.sleep(for: .milliseconds(50))
                }
            }
            let restic = try #require(detected)
            try await body(StandIn(root: root, restic: restic, log: root.appendingPathComponent("call").path))
        }
    }

    @Test("detect reads the version of the given executable")
    func detect() async throws {
        try await Self.withStandIn { (standIn: StandIn) async throws in
            #expect(standIn.restic.version == ResticVersion(major: 0, minor: 17, patch: 3))
            #expect(standIn.restic.version.supportsStdinFromCommand)
        }
    }

    @Test("a credentialed location and secrets travel only in the environment, which inherits nothing else")
    func secretsInEnvironment() async throws {
        try await Self.withStandIn { (standIn: StandIn) async throws in
            let location = "rest:https://agent:topsecret@backup.example:8000/web-1"
            let repository = standIn.repository(location, ["RESTIC_PASSWORD": "repo-password", "AWS_SECRET_ACCESS_KEY": "aws-secret"])
            _ = try await standIn.restic.snapshots(repository, tags: ["job=A"])
            let arguments = try standIn.arguments()
            let environment = try standIn.environment()
            #expect(arguments == ["--json", "snapshots", "--tag=job=A"])
            #expect(!arguments.joined().contains("topsecret"))
            #expect(environment["RESTIC_REPOSITORY"] == location)
            #expect(environment["RESTIC_PASSWORD"] == "repo-password")
            #expect(environment["AWS_SECRET_ACCESS_KEY"] == "aws-secret")
            let allowed: Set<String> = [
                "PATH", "HOME", "RESTIC_REPOSITORY", "RESTIC_PASSWORD", "AWS_SECRET_ACCESS_KEY", "FAKE_LOG", "PWD", "SHLVL", "_", "OLDPWD",
            ]
            #expect(Set(environment.keys).subtracting(allowed).isEmpty, "leaked: \(Set(environment.keys).subtracting(allowed).sorted())")
        }
    }

    @Test("a plain location is --repo, the CA file is --cacert")
    func plainLocation() async throws {
        try await Self.withStandIn { (standIn: StandIn) async throws in
            var repository = standIn.repository("s3:https://s3.example/bucket/web-1", ["AWS_ACCESS_KEY_ID": "AKIA"])
            repository.caCertificatePath = "/etc/mzpanel/ca.pem"
            _ = try await standIn.restic.forget(repository, tags: ["job=A"], host: "web-1", keep: ["--keep-last", "2"], prune: true)
            let arguments = try standIn.arguments()
            #expect(
                arguments == [
                    "--repo=s3:https://s3.example/bucket/web-1", "--cacert=/etc/mzpanel/ca.pem", "--json",
                    "forget", "--group-by=host,paths", "--tag=job=A", "--host=web-1", "--keep-last", "2", "--prune",
                ])
            #expect(try standIn.environment()["RESTIC_REPOSITORY"] == nil)
        }
    }

    @Test("retry-lock is passed when asked for and supported")
    func retryLock() async throws {
        try await Self.withStandIn { (standIn: StandIn) async throws in
            var restic = standIn.restic
            restic.retryLock = .seconds(90)
            _ = try await restic.snapshots(standIn.repository("/srv/repo"), tags: [])
            #expect(try standIn.arguments().contains("--retry-lock=90s"))
        }
    }

    @Test("0.17 exit codes", arguments: [("10", ResticError.Kind.repositoryMissing), ("11", .locked), ("12", .wrongPassword)])
    func exitCodes(code: String, kind: ResticError.Kind) async throws {
        try await Self.withStandIn { (standIn: StandIn) async throws in
            let repository = standIn.repository("/srv/repo", ["FAKE_EXIT": code])
            let error = await #expect(throws: ResticError.self) { _ = try await standIn.restic.snapshots(repository, tags: []) }
            #expect(error?.kind == kind)
            #expect(error?.exitCode == Int32(code))
            if kind == .repositoryMissing {
                #expect(try await standIn.restic.isInitialized(repository) == false)
            }
        }
    }

    @Test("0.17 runs the producer itself with --stdin-from-command")
    func stdinFromCommand() async throws {
        try await Self.withStandIn { (standIn: StandIn) async throws in
            let producer = ProducerCommand(executable: "/bin/sh", arguments: ["-c", "printf data"], environment: ["PGPASSWORD": "pg"])
            let summary = try await standIn.restic.backupStdin(
                standIn.repository("/srv/repo"), filename: "shop.sql", tags: ["job=db"], host: "db-1", producer: producer, progress: { _ in }
            )
            #expect(summary.totalBytesProcessed == 4)
            #expect(summary.snapshotID.count == 64)
            #expect(
                try standIn.arguments() == [
                    "--repo=/srv/repo", "--json", "backup", "--stdin-filename=shop.sql", "--host=db-1", "--tag=job=db",
                    "--stdin-from-command", "--", "/bin/sh", "-c", "printf data",
                ])
            #expect(try standIn.environment()["PGPASSWORD"] == "pg")
        }
    }

    @Test("0.17 reports a failing producer as producerFailed")
    func stdinFromCommandFails() async throws {
        try await Self.withStandIn { (standIn: StandIn) async throws in
            let producer = ProducerCommand(
                executable: "/bin/sh", arguments: ["-c", "printf partial; echo 'dump error: pg' >&2; exit 3"],
                environment: ["PGPASSWORD": "pg-secret"])
            let error = await #expect(throws: ResticError.self) {
                _ = try await standIn.restic.backupStdin(
                    standIn.repository("/srv/repo"), filename: "shop.sql", tags: [], host: "db-1", producer: producer, progress: { _ in }
                )
            }
            #expect(error?.kind == .producerFailed)
            #expect(error?.exitCode == 3)
            #expect(error?.message.contains("exited with status 3") == true)
            #expect(error?.message.contains("dump error: pg") == true)
        }
    }

    @Test("the pipe path can be chosen on 0.17 too")
    func pipePath() async throws {
        try await Self.withStandIn { (standIn: StandIn) async throws in
            var restic = standIn.restic
            restic.prefersStdinFromCommand = false
            let producer = ProducerCommand(executable: "/bin/sh", arguments: ["-c", "printf 'hello world'"])
            let summary = try await restic.backupStdin(
                standIn.repository("/srv/repo"), filename: "x", tags: [], host: "h", producer: producer, progress: { _ in }
            )
            #expect(summary.totalBytesProcessed == 11)
            #expect(try standIn.arguments().contains("--stdin"))
        }
    }
}
