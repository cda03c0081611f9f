import Testing

@testable import ResticKit

/// The stderr texts below were printed by restic 0.14.0 (Debian 12) in the situations named.
@Suite("error classification of restic's exit codes and stderr")
struct ErrorClassificationTests {
    static let v0_14 = ResticVersion(major: 0, minor: 14, patch: 0)
    static let v0_17 = ResticVersion(major: 0, minor: 17, patch: 3)

    struct Sample: Sendable, CustomStringConvertible {
        let name: String
        let stderr: String
        let kind: ResticError.Kind
        let messageStart: String
        var description: String { name }
    }

    static let samples: [Sample] = [
        Sample(
            name: "wrong password",
            stderr: "Fatal: wrong password or no key found\n",
            kind: .wrongPassword, messageStart: "the repository password is wrong"
        ),
        Sample(
            name: "missing local repository",
            stderr: """
                Fatal: unable to open config file: stat /srv/repo/config: no such file or directory
                Is there a repository at the following location?
                /srv/repo
                """,
            kind: .repositoryMissing, messageStart: "there is no restic repository"
        ),
        Sample(
            name: "locked by a running backup",
            stderr: """
                unable to create lock in backend: repository is already locked by PID 19551 on vm by root (UID 0, GID 0)
                lock was created at 2026-11-27 00:04:40 (2.057679086s ago)
                storage ID e22405ab
                the `unlock` command can be used to remove stale locks
                """,
            kind: .locked, messageStart: "the repository is locked by another operation (held by PID 19551 on vm by root)"
        ),
        Sample(
            name: "rest server refusing connections (also says 'Is there a repository')",
            stderr: """
                Fatal: unable to open config file: client.Head: Head "http://user:***@127.0.0.1:1/repo/config": dial tcp 127.0.0.1:1: connect: connection refused
                Is there a repository at the following location?
                rest:http://user:***@127.0.0.1:1/repo/
                """,
            kind: .unreachable, messageStart: "the destination cannot be reached: the connection was refused (127.0.0.1:1)"
        ),
        Sample(
            name: "unknown host",
            stderr: """
                Fatal: unable to open config file: client.Head: Head "http://nonexistent.invalid/repo/config": dial tcp: lookup nonexistent.invalid on 10.255.255.53:53: no such host
                Is there a repository at the following location?
                rest:http://nonexistent.invalid/repo/
                """,
            kind: .unreachable, messageStart: "the destination cannot be reached: the host name nonexistent.invalid was not found"
        ),
        Sample(
            name: "disk full",
            stderr: "Fatal: unable to save snapshot: write /mnt/small/repo/data/a3/a38c-tmp-861334737: no space left on device\n",
            kind: .diskFull, messageStart: "no space left on the destination"
        ),
        Sample(
            name: "permission denied",
            stderr: "Fatal: unable to open repository at /srv/repo: ReadDir: open /srv/repo/keys: permission denied\n",
            kind: .permissionDenied, messageStart: "permission denied on the destination: unable to open repository"
        ),
        Sample(
            name: "anything else",
            stderr: "Fatal: unable to save snapshot: snapshot is empty\n",
            kind: .other, messageStart: "the backup failed (restic exit code 1): unable to save snapshot: snapshot is empty"
        ),
    ]

    @Test("restic 0.14 stderr is classified", arguments: samples)
    func classifies(sample: Sample) {
        let error = ResticErrorClassifier.classify(
            exitCode: 1, stderr: sample.stderr, version: Self.v0_14, secrets: [], operation: "the backup"
        )
        #expect(error.kind == sample.kind)
        #expect(error.exitCode == 1)
        #expect(error.message.hasPrefix(sample.messageStart), "\(error.message)")
        #expect(error.description == error.message)
    }

    @Test(
        "restic 0.17 exit codes decide",
        arguments: [
            (Int32(10), ResticError.Kind.repositoryMissing),
            (Int32(11), ResticError.Kind.locked),
            (Int32(12), ResticError.Kind.wrongPassword),
            (Int32(130), ResticError.Kind.interrupted),
        ])
    func exitCodes(code: Int32, kind: ResticError.Kind) {
        let error = ResticErrorClassifier.classify(
            exitCode: code, stderr: "Fatal: something\n", version: Self.v0_17, secrets: [], operation: "listing"
        )
        #expect(error.kind == kind)
        #expect(error.exitCode == code)
    }

    @Test("exit codes 10-12 mean nothing special before 0.17")
    func oldExitCodes() {
        let error = ResticErrorClassifier.classify(
            exitCode: 12, stderr: "Fatal: something odd\n", version: Self.v0_14, secrets: [], operation: "listing"
        )
        #expect(error.kind == .other)
    }

    @Test("a 0.18 JSON exit error is read as text")
    func jsonExitError() {
        let stderr = #"{"message_type":"exit_error","code":12,"message":"Fatal: wrong password or no key found"}"# + "\n"
        #expect(JSONLines.exitErrorCode(in: stderr) == 12)
        let error = ResticErrorClassifier.classify(
            exitCode: 1, stderr: stderr, version: ResticVersion(major: 0, minor: 18, patch: 0), secrets: [], operation: "listing"
        )
        #expect(error.kind == .wrongPassword)
    }
}
