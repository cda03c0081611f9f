import BackupCore
import Foundation
import Testing

/// One id scheme: random, derived and sequential ids all have a kind prefix and 20 characters of one alphabet.
@Suite("resource ids")
struct ResourceIDTests {
    static let t0 = Date(millisecondsSince1970: 1_767_225_600_000)

    @Test func sequentialIDsSortByTimeThenSequence() {
        var ids: [String] = []
        for (offset, sequence) in [(0, 5), (0, 6), (0, 40), (1, 0), (1000, 1), (86_400_000, 0)] {
            ids.append(ResourceID.sequential(.audit, at: Self.t0.addingTimeInterval(Double(offset) / 1000), sequence: UInt64(sequence)))
        }
        #expect(ids == ids.sorted(), "text order is the order they were made: \(ids)")
        #expect(ids.allSatisfy { ResourceID.looksLike($0, .audit) })
        #expect(Set(ids).count == ids.count)
        #expect(ResourceID.sequential(.audit, at: Self.t0, sequence: 31) < ResourceID.sequential(.audit, at: Self.t0, sequence: 32))
    }

    @Test func eventIDsAreResourceIDs() {
        let id = ResourceID.make(.event)
        #expect(id.hasPrefix("evt_") && id.count <= 64)
        #expect(ResourceID.looksLike(id, .event))
        #expect(!ResourceID.looksLike(id, .run))
    }

    @Test func derivedIDsDependOnTheirKeyOnly() {
        #expect(ResourceID.derived(.command, from: "a@1") == ResourceID.derived(.command, from: "a@1"))
        #expect(ResourceID.derived(.command, from: "a@1") != ResourceID.derived(.command, from: "a@2"))
        #expect(ResourceID.looksLike(ResourceID.derived(.command, from: "a@1"), .command))
    }
}
