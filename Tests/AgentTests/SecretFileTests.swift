import Foundation
import SecretFiles
import Testing

@testable import Agent

/// Secret files are 0600 from their first byte, land whole, never follow a planted symlink, and an
/// exclusive create has exactly one winner whose content every reader sees complete.
@Suite("Secret files", .serialized)
struct SecretFileTests {
    @Test("written 0600 whatever the umask; a symlink at the path is replaced, its target untouched")
    func modeAndSymlink() async throws {
        try await withTemporaryDirectory { root in
            let previous = umask(0)
            defer { umask(previous) }
            try SecretFile.write(Data("token".utf8), to: root + "/settings.json")
            #expect(SecureFile.mode(of: root + "/settings.json") == 0o600)
            try Data("victim".utf8).write(to: URL(fileURLWithPath: root + "/victim"))
            try FileManager.default.createSymbolicLink(atPath: root + "/planted", withDestinationPath: root + "/victim")
            try SecretFile.write(Data("secret".utf8), to: root + "/planted")
            #expect(try String(contentsOfFile: root + "/victim", encoding: .utf8) == "victim")
            #expect(try String(contentsOfFile: root + "/planted", encoding: .utf8) == "secret")
            #expect(SecureFile.list(root).sorted() == ["planted", "settings.json", "victim"], "no temporary file left behind")
        }
    }

    @Test("create: one winner among concurrent callers, never a partial file, never over an existing one or a symlink")
    func exclusive() async throws {
        try await withTemporaryDirectory { root in
            let path = root + "/password"
            let content = Data(repeating: UInt8(ascii: "x"), count: 256 * 1024)
            let winners = await withTaskGroup(of: Bool.self) { group in
                for _ in 0..<8 { group.addTask { (try? SecretFile.create(content, at: path)) == true } }
                return await group.reduce(0) { $0 + ($1 ? 1 : 0) }
            }
            #expect(winners == 1)
            #expect(FileManager.default.contents(atPath: path) == content)
            try FileManager.default.createSymbolicLink(atPath: root + "/link", withDestinationPath: root + "/elsewhere")
            #expect(try SecretFile.create(Data("k".utf8), at: root + "/link") == false)
            #expect(!FileManager.default.fileExists(atPath: root + "/elsewhere"))
        }
    }

    @Test("a new state directory is made 0700 in one step")
    func directories() async throws {
        try await withTemporaryDirectory { root in
            let previous = umask(0)
            defer { umask(previous) }
            try SecureFile.makeDirectory(root + "/a/b/state")
            #expect(SecureFile.mode(of: root + "/a/b/state") == 0o700)
        }
    }
}
