import BackupCore
import Foundation
import Testing

/// Restore drills' pure rules: the sample (files or a share of the bytes, random each time), the
/// SQL assertions, a job's drill setting and the evidence's estimate.
@Suite struct DrillTests {
    /// A seeded generator, so a test can name what it expects.
    struct Seeded: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return state
        }
    }

    let files: [(path: String, size: Int64)] = (0..<100).map { (path: "/srv/f\($0)", size: $0 == 0 ? 9_000 : 10) }

    @Test func aSampleParsesFromFilesOrAPercentage() throws {
        #expect(try DrillSample.parse("50") == DrillSample(files: 50))
        #expect(try DrillSample.parse(" 2% ") == DrillSample(percent: 2))
        #expect(try DrillSample.parse("0.5%") == DrillSample(percent: 0.5))
        #expect(try DrillSample.parse("2%").text == "2%")
        #expect(try DrillSample.parse("50").text == "50")
        for bad in ["0", "-3", "0%", "101%", "abc", "", "2 files", "nan%", "1000001"] {
            #expect(throws: DomainError.self, "\(bad)") { try DrillSample.parse(bad) }
        }
        let error = #expect(throws: DomainError.self) { try DrillSample.parse("150%") }
        #expect(error?.field == "sample")
        #expect(error?.message.contains("at most 100") == true)
        #expect(throws: DomainError.self) { try DrillSample(files: 3, percent: 2).validated() }
        #expect(throws: DomainError.self) { try DrillSample().validated() }
    }

    @Test func aFileSampleTakesThatManyDistinctFilesAtRandom() {
        var generator = Seeded(state: 1)
        let first = DrillSample(files: 10).sample(files, using: &generator)
        #expect(first.count == 10)
        #expect(Set(first).count == 10)
        let second = DrillSample(files: 10).sample(files, using: &generator)
        #expect(Set(first) != Set(second), "chosen anew each time")
        #expect(DrillSample(files: 500).sample(files, using: &generator).count == 100, "never more than there are")
        #expect(DrillSample(files: 5).sample([], using: &generator).isEmpty)
    }

    @Test func aPercentageSampleReachesThatShareOfTheBytes() {
        // 9,000 bytes in /srv/f0, 990 in the 99 others: 10% of 9,990 bytes is 999.
        for seed in 1...20 {
            var generator = Seeded(state: UInt64(seed))
            let chosen = DrillSample(percent: 10).sample(files, using: &generator)
            let bytes = chosen.reduce(Int64(0)) { total, path in total + (files.first { $0.path == path }?.size ?? 0) }
            #expect(bytes >= 999, "seed \(seed): \(bytes) bytes")
            // It stops as soon as the share is reached: without its last file it was below.
            let last = files.first { $0.path == chosen.last }?.size ?? 0
            #expect(bytes - last < 999, "seed \(seed)")
        }
        var generator = Seeded(state: 7)
        #expect(DrillSample(percent: 100).sample(files, using: &generator).count == 100)
        #expect(DrillSample(percent: 0.001).sample(files, using: &generator).count == 1, "at least one file")
    }

    @Test func assertionsParseIntoQueryComparisonAndValue() throws {
        let parsed = try SQLAssertion.parse("SELECT count(*) FROM orders >= 10")
        #expect(parsed.query == "SELECT count(*) FROM orders")
        #expect(parsed.comparison == .atLeast)
        #expect(parsed.value == 10)
        #expect(try SQLAssertion.parse("select max(id) from t > 2.5").comparison == .greater)
        #expect(try SQLAssertion.parse("SELECT count(*) FROM t WHERE a <> b = 0").comparison == .equal)
        #expect(try SQLAssertion.parse("SELECT count(*) FROM t != 0").comparison == .notEqual)
        #expect(try SQLAssertion.parse("with x as (select 1) select count(*) from x <= 1").comparison == .atMost)
        #expect(try SQLAssertion.parse("SELECT count(*) FROM hello_world >= 1").query.hasSuffix("hello_world"), "lo_ only as a word's start")
        #expect(SQLAssertion.Comparison.atLeast.holds(10, 10))
        #expect(!SQLAssertion.Comparison.greater.holds(10, 10))
        #expect(SQLAssertion.Comparison.notEqual.holds(1, 2))
    }

    @Test func badAssertionsAreRefusedSayingWhy() {
        let cases: [(String, String)] = [
            ("SELECT count(*) FROM orders", "does not end with a number"),
            ("SELECT count(*) FROM orders 10", "has no comparison"),
            ("DELETE FROM orders >= 1", "is not a SELECT query"),
            ("SELECT 1; DROP TABLE orders >= 1", "leave out"),
            ("SELECT lo_export(1, '/tmp/x') >= 1", "reaches files"),
            ("SELECT length(pg_read_file('/etc/passwd')) > 0", "reaches files"),
            ("SELECT count(*) INTO OUTFILE '/tmp/x' FROM t >= 0", "reaches files"),
            ("SELECT count(*)\nFROM t >= 1", "one line"),
            ("", "one line"),
        ]
        for (text, reason) in cases {
            let error = #expect(throws: DomainError.self, "\(text)") { try SQLAssertion.parse(text, field: "assertions[0]") }
            #expect(error?.message.contains(reason) == true, "\(text): \(error?.message ?? "")")
            #expect(error?.field == "assertions[0]")
        }
    }

    @Test func aJobsDrillSettingChangesFieldByField() throws {
        let weekly = try #require(try JobDrill.applying(frequency: "weekly", sample: "2%", assertions: nil, to: nil, kind: .full))
        #expect(weekly == JobDrill(frequency: .weekly, sample: DrillSample(percent: 2)))
        let daily = try JobDrill.applying(frequency: "daily", sample: nil, assertions: ["SELECT count(*) FROM t >= 1"], to: weekly, kind: .full)
        #expect(daily == JobDrill(frequency: .daily, sample: DrillSample(percent: 2), assertions: ["SELECT count(*) FROM t >= 1"]))
        #expect(try JobDrill.applying(frequency: nil, sample: nil, assertions: nil, to: daily, kind: .full) == daily, "unchanged")
        #expect(try JobDrill.applying(frequency: "off", sample: nil, assertions: nil, to: daily, kind: .full) == nil)
        #expect(try JobDrill.applying(frequency: nil, sample: nil, assertions: nil, to: daily, kind: .check) == nil, "lost with the kind")
        let alone = #expect(throws: DomainError.self) { try JobDrill.applying(frequency: nil, sample: "5", assertions: nil, to: nil, kind: .full) }
        #expect(alone?.field == "drillSample")
        let check = #expect(throws: DomainError.self) {
            try JobDrill.applying(frequency: "weekly", sample: nil, assertions: nil, to: nil, kind: .check)
        }
        #expect(check?.message.contains("only backup jobs") == true)
        let hourly = #expect(throws: DomainError.self) {
            try JobDrill.applying(frequency: "hourly", sample: nil, assertions: nil, to: nil, kind: .full)
        }
        #expect(hourly?.message.contains("use daily, weekly or off") == true)
        let sql = #expect(throws: DomainError.self) {
            try JobDrill.applying(frequency: "weekly", sample: nil, assertions: ["DROP TABLE t >= 1"], to: nil, kind: .full)
        }
        #expect(sql?.field == "drillAssertions")
    }

    @Test func aDrillPlanRestoresIntoScratchPlacesOnly() throws {
        func plan(target: String? = nil, overwrite: Bool = false, into: String? = nil, files: Bool = true) -> RestorePlan {
            RestorePlan(
                snapshotID: "snp_1", sourceServerID: "srv_1", destinationID: "dst_1", resticSnapshotIDs: ["abc"], files: files, target: target,
                includes: [], databases: [DatabaseRestore(engine: .postgresql, name: "shop", into: into)], overwrite: overwrite, dryRun: false,
                drill: DrillOptions(sample: DrillSample(files: 3)))
        }
        #expect(try plan().validated().drill?.sample.files == 3)
        #expect(throws: DomainError.self) { try plan(target: "/srv").validated() }
        #expect(throws: DomainError.self) { try plan(overwrite: true).validated() }
        #expect(throws: DomainError.self) { try plan(into: "other").validated() }
        #expect(!plan().needsSignature(onto: "srv_1"), "a drill on the job's own server needs no signature")
    }

    @Test func evidencePassesOnlyWithEveryCheckAndEstimatesTheWholeRestore() {
        var evidence = DrillEvidence(snapshotFiles: 100, snapshotBytes: 600_000_000, restoredFiles: 10, restoredBytes: 10_000_000, restoreSeconds: 2)
        #expect(!evidence.passed, "no checks, nothing proven")
        evidence.checks = [DrillCheck(name: "files", passed: true)]
        #expect(evidence.passed)
        #expect(evidence.throughput == 5_000_000)
        #expect(evidence.estimatedFullRestoreSeconds == 120)
        #expect(evidence.estimateText == "restores in ~2 min")
        evidence.checks.append(DrillCheck(name: "file /a", passed: false, detail: "damaged"))
        #expect(!evidence.passed)
        #expect(evidence.failures.map(\.name) == ["file /a"])
    }
}
