import Foundation
import Testing

@testable import ResticKit

@Suite("repository creation", .enabled(if: ResticAvailability.isInstalled, ResticAvailability.reason))
struct RepositoryInitTests {
    @Test("a missing repository is not initialized")
    func missing() async throws {
        try await RepoFixture.with(initialize: false) { (fixture: RepoFixture) async throws in
            #expect(try await fixture.restic.isInitialized(fixture.repository) == false)
        }
    }

    @Test("initialize creates it once and is idempotent")
    func idempotent() async throws {
        try await RepoFixture.with(initialize: false) { (fixture: RepoFixture) async throws in
            try await fixture.restic.initialize(fixture.repository)
            #expect(try await fixture.restic.isInitialized(fixture.repository))
            let config = fixture.root.appendingPathComponent("repo/config").path
            let before = try FileManager.default.attributesOfItem(atPath: config)[.modificationDate] as? Date
            try await fixture.restic.initialize(fixture.repository)
            let after = try FileManager.default.attributesOfItem(atPath: config)[.modificationDate] as? Date
            #expect(before == after)
            #expect(try await fixture.restic.snapshots(fixture.repository, tags: []).isEmpty)
        }
    }

    @Test("a check of a fresh repository is healthy")
    func check() async throws {
        try await RepoFixture.with { (fixture: RepoFixture) async throws in
            let result = try await fixture.restic.check(fixture.repository, readDataSubset: "10%")
            #expect(result.isHealthy)
            #expect(result.errors.isEmpty)
            try await fixture.restic.unlock(fixture.repository)
        }
    }
}
