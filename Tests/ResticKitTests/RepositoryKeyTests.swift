import Foundation
import Testing

@testable import ResticKit

@Suite("repository keys", .enabled(if: ResticAvailability.isInstalled, ResticAvailability.reason))
struct RepositoryKeyTests {
    /// The fixture's repository opened with a password in the environment instead of its file.
    func opened(_ fixture: RepoFixture, password: String) -> ResticRepository {
        var repository = fixture.repository
        repository.environment.removeValue(forKey: "RESTIC_PASSWORD_FILE")
        repository.environment["RESTIC_PASSWORD"] = password
        return repository
    }

    @Test("a key added through the pipe opens the repository; removing the other leaves only it")
    func addAndRemove() async throws {
        try await RepoFixture.with { (fixture: RepoFixture) async throws in
            let newPassword = "new-\(UUID().uuidString)"
            try await fixture.restic.addKey(fixture.repository, newPassword: newPassword)
            let rotated = opened(fixture, password: newPassword)
            let keys = try await fixture.restic.keys(rotated)
            #expect(keys.count == 2 && keys.filter(\.current).count == 1)
            for key in keys where !key.current { try await fixture.restic.removeKey(rotated, id: key.id) }
            #expect(try await fixture.restic.keys(rotated).map(\.current) == [true])
            await #expect(throws: ResticError.self) { try await fixture.restic.isInitialized(fixture.repository) }
            #expect(try await fixture.restic.isInitialized(rotated))
        }
    }

    @Test("a wrong password is classified, and no password or id reaches a message")
    func refusals() async throws {
        try await RepoFixture.with { (fixture: RepoFixture) async throws in
            let wrong = opened(fixture, password: "not-the-password-\(UUID().uuidString)")
            do {
                _ = try await fixture.restic.keys(wrong)
                Issue.record("a wrong password listed keys")
            } catch let error as ResticError {
                #expect(error.kind == .wrongPassword)
                #expect(!error.message.contains(wrong.environment["RESTIC_PASSWORD"] ?? "-"))
            }
            await #expect(throws: ResticError.self) { try await fixture.restic.removeKey(fixture.repository, id: "--all") }
            await #expect(throws: ResticError.self) { try await fixture.restic.addKey(fixture.repository, newPassword: "") }
            let current = try await fixture.restic.keys(fixture.repository).first { $0.current }
            await #expect(throws: ResticError.self) { try await fixture.restic.removeKey(fixture.repository, id: current?.id ?? "0") }
        }
    }

    @Test("former passwords are secrets of the repository")
    func formerPasswordsAreSecret() {
        let repository = ResticRepository(location: "/srv/repo", environment: ["RESTIC_PASSWORD": "now"], formerPasswords: ["before"])
        #expect(repository.secretValues.contains("before") && repository.secretValues.contains("now"))
    }
}
