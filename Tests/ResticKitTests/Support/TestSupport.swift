import Foundation
import Testing

@testable import ResticKit

/// Whether the real restic is here. Tests that need it are disabled with a visible reason when it
/// is not, except on CI (CI=true), where `InstallationTests` fails instead.
enum ResticAvailability {
    static let path: String? = ExecutableLookup.resolve("restic")
    static var isInstalled: Bool { path != nil }
    static var isCI: Bool { ProcessInfo.processInfo.environment["CI"] == "true" }
    static let reason: Comment = "restic is not installed (apt-get install restic)"
}

/// A temporary directory removed when the body ends.
func withTemporaryDirectory<T>(_ body: (URL) async throws -> T) async throws -> T {
    let url = FileManager.default.temporaryDirectory
        .appendingPathComponent("restickit-\(UUID().uuidString.prefix(12))", isDirectory: true)
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: url) }
    return try await body(url)
}

/// A temporary directory with a password file (0600), a restic cache, a repository location
/// (initialized unless told otherwise) and the detected restic.
struct RepoFixture {
    let root: URL
    let restic: Restic
    let repository: ResticRepository
    let password: String

    var repositoryPath: String { repository.location }

    @discardableResult
    static func with<T>(initialize: Bool = true, _ body: (RepoFixture) async throws -> T) async throws -> T {
        try await withTemporaryDirectory { root in
            let fixture = try await RepoFixture.make(in: root, initialize: initialize)
            return try await body(fixture)
        }
    }

    static func make(in root: URL, initialize: Bool) async throws -> RepoFixture {
        let password = "pw-\(UUID().uuidString)"
        let passwordFile = root.appendingPathComponent("password")
        try writeSecretFile(passwordFile, password)
        let repository = ResticRepository(
            location: root.appendingPathComponent("repo").path,
            environment: [
                "RESTIC_PASSWORD_FILE": passwordFile.path,
                "RESTIC_CACHE_DIR": root.appendingPathComponent("cache").path,
            ]
        )
        let restic = try await Restic.detect()
        if initialize { try await restic.initialize(repository) }
        return RepoFixture(root: root, restic: restic, repository: repository, password: password)
    }

    /// A directory `name` under the fixture with `files` files of `size` bytes each (in two sub-folders).
    func makeTree(_ name: String, files: Int, size: Int) throws -> URL {
        let tree = root.appendingPathComponent(name, isDirectory: true)
        var generator = SplitMix64(seed: UInt64(files * 31 + size))
        for index in 0..<files {
            let folder = tree.appendingPathComponent(index % 2 == 0 ? "even" : "odd", isDirectory: true)
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            var bytes = [UInt8](repeating: 0, count: size)
            for offset in stride(from: 0, to: size, by: 8) {
                var word = generator.next()
                for byteIndex in offset..<min(offset + 8, size) {
                    bytes[byteIndex] = UInt8(truncatingIfNeeded: word)
                    word >>= 8
                }
            }
            try Data(bytes).write(to: folder.appendingPathComponent("file-\(index).bin"))
        }
        return tree
    }

    /// Files in the repository's locks/ folder (restic's own locks).
    func resticLockCount() -> Int {
        let locks = URL(fileURLWithPath: repositoryPath).appendingPathComponent("locks").path
        return (try? FileManager.default.contentsOfDirectory(atPath: locks).count) ?? 0
    }
}

func writeSecretFile(_ url: URL, _ text: String) throws {
    _ = FileManager.default.createFile(atPath: url.path, contents: Data(text.utf8), attributes: [.posixPermissions: 0o600])
}

/// Polls `condition` every 50 ms for up to `seconds`.
func eventually(seconds: Double = 20, _ condition: () -> Bool) async throws -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if condition() { return true }
        try await Task.sleep(for: .milliseconds(50))
    }
    return condition()
}

/// Deterministic bytes that do not compress or deduplicate.
struct SplitMix64 {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Thread-safe list of what callbacks saw.
final class Recorder<Element: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [Element] = []
    func append(_ item: Element) { lock.withLock { items.append(item) } }
    var all: [Element] { lock.withLock { items } }
}
