import Foundation
import Testing

@testable import ResticKit

@Suite("retention with forget", .enabled(if: ResticAvailability.isInstalled, ResticAvailability.reason))
struct ForgetTests {
    /// Two jobs share one repository and one host; they differ by tag and path. Grouping by
    /// host,paths and filtering by the job's tag keeps job B out of job A's retention.
    @Test("keep-last 2 on job A leaves job B untouched")
    func twoJobs() async throws {
        try await RepoFixture.with { fixture in
            let restic = fixture.restic
            let repository = fixture.repository
            let treeA = try fixture.makeTree("a", files: 2, size: 64)
            let treeB = try fixture.makeTree("b", files: 2, size: 64)
            for _ in 0..<4 {
                _ = try await restic.backup(repository, paths: [treeA.path], excludes: [], tags: ["job=A"], host: "web-1", progress: { _ in })
            }
            for _ in 0..<3 {
                _ = try await restic.backup(repository, paths: [treeB.path], excludes: [], tags: ["job=B"], host: "web-1", progress: { _ in })
            }
            let beforeA = try await restic.snapshots(repository, tags: ["job=A"])
            let beforeB = try await restic.snapshots(repository, tags: ["job=B"])
            #expect(beforeA.count == 4 && beforeB.count == 3)

            let preview = try await restic.forget(
                repository, tags: ["job=A"], host: "web-1", keep: ["--keep-last", "2"], prune: false, dryRun: true
            )
            #expect(preview.dryRun)
            #expect(preview.removedIDs.count == 2)
            #expect(try await restic.snapshots(repository, tags: ["job=A"]).count == 4)

            let result = try await restic.forget(
                repository, tags: ["job=A"], host: "web-1", groupBy: "host,paths", keep: ["--keep-last", "2"], prune: true
            )
            #expect(result.groups.count == 1)
            #expect(result.groups.first?.host == "web-1")
            #expect(result.groups.first?.paths == [treeA.path])
            #expect(Set(result.keptIDs) == Set(beforeA.suffix(2).map(\.id)))
            #expect(Set(result.removedIDs) == Set(beforeA.prefix(2).map(\.id)))
            #expect(result.pruned)

            let afterA = try await restic.snapshots(repository, tags: ["job=A"])
            let afterB = try await restic.snapshots(repository, tags: ["job=B"])
            #expect(afterA.map(\.id) == beforeA.suffix(2).map(\.id))
            #expect(afterB.map(\.id) == beforeB.map(\.id))
            #expect(try await restic.check(repository, readDataSubset: nil).isHealthy)
        }
    }

    @Test("forgetting one snapshot by id")
    func forgetOne() async throws {
        try await RepoFixture.with { fixture in
            let tree = try fixture.makeTree("a", files: 1, size: 64)
            let first = try await fixture.restic.backup(fixture.repository, paths: [tree.path], excludes: [], tags: [], host: "h", progress: { _ in })
            let second = try await fixture.restic.backup(
                fixture.repository, paths: [tree.path], excludes: [], tags: [], host: "h", progress: { _ in })
            try await fixture.restic.forgetSnapshot(fixture.repository, id: first.snapshotID)
            let left = try await fixture.restic.snapshots(fixture.repository, tags: [])
            #expect(left.count == 1)
            #expect(left.first?.id.hasPrefix(second.snapshotID) == true)
        }
    }

    @Test("a policy that is not --keep-… options is refused")
    func policyChecked() async throws {
        try await RepoFixture.with(initialize: false) { fixture in
            for keep in [[], ["--password-command", "x"], ["--keep-last", "2", "--prune"]] {
                await #expect(throws: ResticError.self) {
                    _ = try await fixture.restic.forget(fixture.repository, tags: ["job=A"], host: nil, keep: keep, prune: false)
                }
            }
        }
    }
}
