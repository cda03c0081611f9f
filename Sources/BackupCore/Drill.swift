import Foundation

/// How much of a snapshot's files a restore drill restores: a number of files, or a share of the
/// snapshot's bytes. Chosen anew at random on every drill (``sample(_:using:)``).
public struct DrillSample: Sendable, Codable, Equatable {
    /// Restore this many files (or all, when the snapshot has fewer).
    public var files: Int?
    /// Restore files until this percentage of the snapshot's bytes is reached (0 < p ≤ 100).
    public var percent: Double?

    public init(files: Int? = nil, percent: Double? = nil) {
        self.files = files
        self.percent = percent
    }

    /// The default: 20 files.
    public static let standard = DrillSample(files: 20)
    public static let maxFiles = 100_000

    /// Parses `50` (files) or `2%` (of the bytes); `field` names the input in the error.
    public static func parse(_ text: String, field: String = "sample") throws(DomainError) -> DrillSample {
        let trimmed = text.trimmingSpaces
        if trimmed.hasSuffix("%") {
            guard let value = Double(String(trimmed.dropLast()).trimmingSpaces), value.isFinite, value > 0, value <= 100 else {
                throw .invalid(field, "\"\(text)\" is not a share of the bytes; give a percentage above 0 and at most 100, e.g. 2%")
            }
            return DrillSample(percent: value)
        }
        guard let count = Int(trimmed), count >= 1, count <= maxFiles else {
            throw .invalid(field, "\"\(text)\" is not a sample; give a number of files (1–\(maxFiles), e.g. 50) or a share of the bytes (e.g. 2%)")
        }
        return DrillSample(files: count)
    }

    /// Exactly one of files or percent, in range.
    public func validated(field: String = "sample") throws(DomainError) -> DrillSample {
        switch (files, percent) {
        case (let count?, nil): return try Self.parse(String(count), field: field)
        case (nil, let share?):
            guard share.isFinite, share > 0, share <= 100 else {
                throw .invalid(field, "the percentage \(share) is out of range; give a value above 0 and at most 100")
            }
            return self
        default: throw .invalid(field, "give either a number of files or a percentage of the bytes, not both or neither")
        }
    }

    /// The spelling `parse` reads.
    public var text: String {
        if let percent { return (percent.rounded() == percent ? String(Int(percent)) : String(percent)) + "%" }
        return String(files ?? 0)
    }

    /// Picks the files to restore from the snapshot's regular files (path, size), at random:
    /// `files` of them, or enough to reach `percent` of the bytes (at least one file).
    public func sample<G: RandomNumberGenerator>(_ candidates: [(path: String, size: Int64)], using generator: inout G) -> [String] {
        let shuffled = candidates.shuffled(using: &generator)
        if let files { return shuffled.prefix(files).map { $0.path } }
        let total = candidates.reduce(Int64(0)) { $0 + max(0, $1.size) }
        let wanted = Double(total) * (percent ?? 100) / 100
        var chosen: [String] = []
        var bytes: Int64 = 0
        for candidate in shuffled {
            if !chosen.isEmpty && Double(bytes) >= wanted { break }
            chosen.append(candidate.path)
            bytes += max(0, candidate.size)
        }
        return chosen
    }
}

/// A check a person sets on a database drill: a query answering one number, compared with a
/// value, e.g. `SELECT count(*) FROM orders >= 10`.
public struct SQLAssertion: Sendable, Equatable {
    public enum Comparison: String, Sendable, CaseIterable {
        case atLeast = ">=", atMost = "<=", notEqual = "!=", equal = "=", greater = ">", less = "<"

        public func holds(_ left: Double, _ right: Double) -> Bool {
            switch self {
            case .atLeast: left >= right
            case .atMost: left <= right
            case .notEqual: left != right
            case .equal: left == right
            case .greater: left > right
            case .less: left < right
            }
        }
    }

    public var query: String
    public var comparison: Comparison
    public var value: Double
    /// The assertion as written.
    public var text: String

    public static let maxLength = 2000
    /// Functions and clauses that reach beyond the throw-away database's tables (files, other
    /// sessions, settings); an assertion is run by the agent's database role, so these are refused.
    public static let refusedWords = [
        "lo_", "pg_read", "pg_ls", "pg_file", "pg_stat_file", "pg_terminate", "pg_cancel", "pg_reload", "pg_sleep", "dblink", "set_config",
        "copy ", "outfile", "dumpfile", "load_file", "load_extension", "readfile", "writefile", "sleep(", "benchmark(", "into ",
    ]

    /// Whether `text` holds `word` at the start of a word (`lo_export`, not `hello_table`).
    static func contains(word: String, in text: String) -> Bool {
        var searched = text[...]
        while let found = searched.range(of: word) {
            if found.lowerBound == text.startIndex { return true }
            let before = text[text.index(before: found.lowerBound)]
            if !(before.isLetter || before.isNumber || before == "_") { return true }
            searched = text[found.upperBound...]
        }
        return false
    }

    /// Parses `QUERY OP NUMBER`: the query must be one SELECT (read only, no `;`), OP one of
    /// `>= <= != = > <`, the value a number.
    public static func parse(_ text: String, field: String = "assertion") throws(DomainError) -> SQLAssertion {
        let trimmed = text.trimmingSpaces
        let example = "e.g. SELECT count(*) FROM orders >= 10"
        guard !trimmed.isEmpty, trimmed.count <= maxLength, !trimmed.contains(where: { $0.isNewline || $0 == "\0" }) else {
            throw .invalid(field, "an assertion is one line of at most \(maxLength) characters: a SELECT, a comparison and a number, \(example)")
        }
        // The value is the last word; the comparison the operator before it.
        guard let space = trimmed.lastIndex(of: " "), let value = Double(trimmed[trimmed.index(after: space)...]), value.isFinite else {
            throw .invalid(field, "\"\(text)\" does not end with a number to compare with; \(example)")
        }
        let head = String(trimmed[..<space]).trimmingSpaces
        guard let comparison = Comparison.allCases.first(where: { head.hasSuffix($0.rawValue) }) else {
            throw .invalid(field, "\"\(text)\" has no comparison before its value; use one of >= <= != = > <, \(example)")
        }
        let query = String(head.dropLast(comparison.rawValue.count)).trimmingSpaces
        guard query.lowercased().hasPrefix("select ") || query.lowercased().hasPrefix("with ") else {
            throw .invalid(field, "\"\(query)\" is not a SELECT query; an assertion reads one number, \(example)")
        }
        guard !query.contains(";") else { throw .invalid(field, "an assertion is one query; leave out \";\"") }
        let lower = query.lowercased()
        if let function = Self.refusedWords.first(where: { Self.contains(word: $0, in: lower) }) {
            throw .invalid(
                field, "an assertion only reads the restored tables; \"\(function)\" reaches files, other sessions or settings of the database server"
            )
        }
        return SQLAssertion(query: query, comparison: comparison, value: value, text: trimmed)
    }
}

/// What a drill does beyond restoring: the sample of files, and the assertions run against each
/// database loaded (default: the dump loads).
public struct DrillOptions: Sendable, Codable, Equatable {
    public var sample: DrillSample
    public var assertions: [String]

    public init(sample: DrillSample = .standard, assertions: [String] = []) {
        self.sample = sample
        self.assertions = assertions
    }

    public static let maxAssertions = 20

    public func validated() throws(DomainError) -> DrillOptions {
        var clean = self
        clean.sample = try sample.validated()
        guard assertions.count <= Self.maxAssertions else {
            throw .invalid("assertions", "at most \(Self.maxAssertions) assertions per drill")
        }
        clean.assertions = []
        for (index, assertion) in assertions.enumerated() {
            clean.assertions.append(try SQLAssertion.parse(assertion, field: "assertions[\(index)]").text)
        }
        return clean
    }
}

/// One check of a drill and its outcome.
public struct DrillCheck: Sendable, Codable, Equatable {
    /// What was checked, e.g. `file /srv/a.txt`, `postgresql shop loads`, `SELECT count(*) FROM orders >= 10`.
    public var name: String
    public var passed: Bool
    /// Why it failed, or what was measured.
    public var detail: String?

    public init(name: String, passed: Bool, detail: String? = nil) {
        self.name = name
        self.passed = passed
        self.detail = detail
    }
}

/// A database a drill loaded into a throw-away database.
public struct DrillDatabase: Sendable, Codable, Equatable {
    public var engine: DatabaseEngine
    public var name: String
    public var loaded: Bool
    public var tables: Int?
    /// Rows per table (largest first, at most 50).
    public var rows: [String: Int64]?
    public var seconds: Double?

    public init(engine: DatabaseEngine, name: String, loaded: Bool, tables: Int? = nil, rows: [String: Int64]? = nil, seconds: Double? = nil) {
        self.engine = engine
        self.name = name
        self.loaded = loaded
        self.tables = tables
        self.rows = rows
        self.seconds = seconds
    }
}

/// What a drill proved: what was restored, how fast, and each check (carried on the run's result).
public struct DrillEvidence: Sendable, Codable, Equatable {
    /// The snapshot's files and bytes, and those of the sample restored.
    public var snapshotFiles: Int64
    public var snapshotBytes: Int64
    public var restoredFiles: Int64
    public var restoredBytes: Int64
    /// Time spent restoring (files and databases), for the throughput.
    public var restoreSeconds: Double
    public var checks: [DrillCheck]
    public var databases: [DrillDatabase]

    public init(
        snapshotFiles: Int64 = 0, snapshotBytes: Int64 = 0, restoredFiles: Int64 = 0, restoredBytes: Int64 = 0, restoreSeconds: Double = 0,
        checks: [DrillCheck] = [], databases: [DrillDatabase] = []
    ) {
        self.snapshotFiles = snapshotFiles
        self.snapshotBytes = snapshotBytes
        self.restoredFiles = restoredFiles
        self.restoredBytes = restoredBytes
        self.restoreSeconds = restoreSeconds
        self.checks = checks
        self.databases = databases
    }

    public var passed: Bool { !checks.isEmpty && checks.allSatisfy(\.passed) }
    public var failures: [DrillCheck] { checks.filter { !$0.passed } }

    /// Bytes per second while restoring (nil when too little was measured).
    public var throughput: Double? {
        guard restoreSeconds > 0.001, restoredBytes > 0 else { return nil }
        return Double(restoredBytes) / restoreSeconds
    }

    /// How long restoring the whole snapshot's files would take at the measured throughput.
    public var estimatedFullRestoreSeconds: Double? {
        guard let throughput else { return nil }
        return Double(snapshotBytes) / throughput
    }

    /// "this job restores in ~N min" in words.
    public var estimateText: String? {
        guard let seconds = estimatedFullRestoreSeconds else { return nil }
        let minutes = Int((seconds / 60).rounded(.up))
        return minutes <= 1 ? "restores in under a minute" : "restores in ~\(minutes) min"
    }
}

/// How often a job is drilled by the hub's scheduler, and with what.
public struct JobDrill: Sendable, Codable, Equatable {
    public enum Frequency: String, Sendable, Codable, CaseIterable {
        case daily, weekly

        public var interval: TimeInterval { self == .daily ? 86_400 : 7 * 86_400 }
    }

    public var frequency: Frequency
    public var sample: DrillSample
    public var assertions: [String]

    public init(frequency: Frequency, sample: DrillSample = .standard, assertions: [String] = []) {
        self.frequency = frequency
        self.sample = sample
        self.assertions = assertions
    }

    /// A job with drills is `unproven` when no drill passed within twice its frequency (a missed or failed drill, then one more period).
    public var provenFor: TimeInterval { frequency.interval * 2 }

    public var options: DrillOptions { DrillOptions(sample: sample, assertions: assertions) }

    /// Parses `daily`, `weekly` or `off` (nil).
    public static func frequency(_ text: String, field: String = "drill") throws(DomainError) -> Frequency? {
        let lower = text.trimmingSpaces.lowercased()
        if lower == "off" || lower == "none" { return nil }
        guard let frequency = Frequency(rawValue: lower) else {
            throw .invalid(field, "\"\(text)\" is not a drill frequency; use daily, weekly or off")
        }
        return frequency
    }

    public func validated(kind: JobKind) throws(DomainError) -> JobDrill {
        guard kind == .full || kind == .database else {
            throw .invalid("drill", "only backup jobs (kind full or database) can be drilled; a \(kind.rawValue) job makes no restorable snapshot")
        }
        var clean = self
        let checked = try self.options.validated()
        clean.sample = checked.sample
        clean.assertions = checked.assertions
        return clean
    }
}

extension JobDrill {
    /// A job's drill setting after a change: `frequency` (`daily`, `weekly`, `off`), `sample` and
    /// `assertions` each optional (absent: as before). Sample or assertions without a drill set
    /// before or now are refused, so they are never silently dropped.
    public static func applying(
        frequency: String?, sample: String?, assertions: [String]?, to current: JobDrill?, kind: JobKind
    ) throws(DomainError) -> JobDrill? {
        var drill = current
        if let frequency {
            if let chosen = try Self.frequency(frequency) {
                drill = JobDrill(frequency: chosen, sample: current?.sample ?? .standard, assertions: current?.assertions ?? [])
            } else {
                drill = nil
            }
        }
        if sample != nil || assertions != nil {
            guard var changed = drill else {
                throw .invalid(
                    "drillSample", "a drill sample or assertions need scheduled drills; set drill to daily or weekly too (--drill weekly)")
            }
            if let sample { changed.sample = try DrillSample.parse(sample, field: "drillSample") }
            if let assertions { changed.assertions = assertions }
            drill = changed
        }
        guard let drill else { return nil }
        // Kept only while the job is one that can be drilled: a job turned into a check job loses it.
        if frequency == nil && sample == nil && assertions == nil && !(kind == .full || kind == .database) { return nil }
        do {
            return try drill.validated(kind: kind)
        } catch {
            throw DomainError(
                error.code, field: error.field == "assertions" || error.field?.hasPrefix("assertions[") == true ? "drillAssertions" : error.field,
                error.message)
        }
    }
}
