import Foundation
import Testing

@testable import ResticKit

@Suite("one operation at a time per repository")
struct RepositoryLockTests {
    actor Log {
        var events: [String] = []
        func add(_ event: String) { events.append(event) }
    }

    @Test("a second task waits until the first releases the lock")
    func serializes() async throws {
        try await withTemporaryDirectory { root in
            let directory = root.path
            let log = Log()
            let (firstIn, firstInSignal) = AsyncStream<Void>.makeStream()
            let first = Task {
                try await RepositoryLock.withLock(directory: directory, repository: "/srv/repo") {
                    await log.add("first in")
                    firstInSignal.yield()
                    try await Task.sleep(for: .milliseconds(400))
                    await log.add("first out")
                }
            }
            for await _ in firstIn { break }
            let second = Task {
                try await RepositoryLock.withLock(directory: directory, repository: "/srv/repo") {
                    await log.add("second in")
                    await log.add("second out")
                }
            }
            try await first.value
            try await second.value
            #expect(await log.events == ["first in", "first out", "second in", "second out"])
        }
    }

    @Test("different repositories do not wait for each other")
    func independent() async throws {
        try await withTemporaryDirectory { root in
            let directory = root.path
            let (otherRan, otherRanSignal) = AsyncStream<Void>.makeStream()
            let holder = Task {
                try await RepositoryLock.withLock(directory: directory, repository: "s3:https://s3.example/a") {
                    // Released only once the other repository's body has run inside its own lock.
                    for await _ in otherRan { break }
                }
            }
            try await RepositoryLock.withLock(directory: directory, repository: "s3:https://s3.example/b") {
                otherRanSignal.yield()
            }
            try await holder.value
        }
    }

    @Test("the lock file is named by a stable hash and private")
    func lockFile() async throws {
        try await withTemporaryDirectory { root in
            let path = RepositoryLock.lockFilePath(directory: root.path, repository: "rest:https://u:p@host/repo")
            #expect(path == RepositoryLock.lockFilePath(directory: root.path + "/", repository: "rest:https://u:p@host/repo"))
            #expect(!path.contains("host"))
            #expect(RepositoryLock.fnv1a64Hex("") == "cbf29ce484222325")
            #expect(RepositoryLock.fnv1a64Hex("a") == "af63dc4c8601ec8c")
            let value = try await RepositoryLock.withLock(directory: root.path, repository: "rest:https://u:p@host/repo") { 42 }
            #expect(value == 42)
            let permissions = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
            #expect(permissions == 0o600)
        }
    }

    @Test("an error in the body releases the lock")
    func releasesOnError() async throws {
        struct Boom: Error {}
        try await withTemporaryDirectory { root in
            await #expect(throws: Boom.self) {
                try await RepositoryLock.withLock(directory: root.path, repository: "x") { throw Boom() }
            }
            let value = try await RepositoryLock.withLock(directory: root.path, repository: "x") { "free" }
            #expect(value == "free")
        }
    }
}
