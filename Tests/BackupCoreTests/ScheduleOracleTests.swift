import Foundation
import Testing

@testable import BackupCore

/// Conformance of the schedule engine with systemd itself: every expression is parsed by
/// `Schedule.parse`, its `onCalendarLine` is fed to `systemd-analyze calendar`, and both the
/// normalized form and every computed elapse time must match exactly.
@Suite(
    "Schedule conformance with systemd-analyze",
    .enabled(if: SystemdAnalyzeOracle.isAvailable, "systemd-analyze not installed")
)
struct ScheduleOracleTests {
    struct Case: Sendable, CustomStringConvertible {
        let input: String
        let zone: String
        let bases: [String]
        let iterations: Int

        var description: String { "\(input) [\(zone)]" }
    }

    // MARK: Base times (UTC)

    static let generalBases = ["2026-01-15 12:34:56", "2027-12-31 23:59:30", "2028-02-28 06:00:00"]

    // Europe/Berlin: DST starts 2026-03-29 01:00 UTC (02:00 → 03:00), ends 2026-10-25 01:00 UTC (03:00 → 02:00).
    static let berlinBases = ["2026-03-28 00:00:00", "2026-10-24 00:00:00"]
    static let berlinCloseBases = ["2026-03-29 00:40:00", "2026-10-25 00:20:00", "2026-10-25 01:05:00"]
    // America/New_York: DST starts 2026-03-08 07:00 UTC, ends 2026-11-01 06:00 UTC.
    static let newYorkBases = ["2026-03-07 00:00:00", "2026-10-31 00:00:00"]
    static let newYorkCloseBases = ["2026-03-08 06:40:00", "2026-11-01 05:20:00", "2026-11-01 06:10:00"]
    // Australia/Sydney: DST ends 2026-04-04 16:00 UTC (03:00 → 02:00), starts 2026-10-03 16:00 UTC (02:00 → 03:00).
    static let sydneyBases = ["2026-04-03 00:00:00", "2026-10-02 00:00:00"]
    static let sydneyCloseBases = ["2026-04-04 15:20:00", "2026-10-03 15:40:00", "2026-04-04 16:10:00"]

    static func utc(_ inputs: [String], iterations: Int = 8) -> [Case] {
        inputs.map { Case(input: $0, zone: "UTC", bases: generalBases, iterations: iterations) }
    }

    static func zoned(_ zone: String, _ inputs: [String], bases: [String], iterations: Int) -> [Case] {
        inputs.map { Case(input: $0, zone: zone, bases: bases, iterations: iterations) }
    }

    // MARK: The expressions

    static let presets = utc([
        "minutely", "hourly", "daily", "weekly", "monthly", "quarterly", "semiannually", "yearly", "annually",
        "daily 02:30", "daily 0:05", "daily 23:59:59", "weekly sun 03:00", "weekly Friday 18:15", "weekly wed",
        "monthly 15 04:00", "monthly last 23:00", "monthly 31", "monthly 02:00", "hourly :45", "hourly 7",
        "every 5 minutes", "every 15 minutes", "every 20 minutes", "every 30 minutes", "every minute",
        "every 2 hours", "every 6 hours", "every 12 hours", "weekdays 18:00", "weekends 09:30", "Semi-Annually",
    ])

    static let cronLines = utc([
        "30 2 * * *", "0 * * * *", "*/15 * * * *", "0 */6 * * *", "5 4 * * sun", "0 0 1 * *", "0 0 1 1 *",
        "15 14 1 * *", "0 22 * * 1-5", "23 0-20/2 * * *", "0 0,12 1 */2 *", "0 4 8-14 * *", "*/5 9-17 * * mon-fri",
        "0 9 * jan-mar *", "0 0 29 2 *", "0 0 31 * *", "45 23 * * 6,0", "0 12 * * 7", "0 0 * * 0-7", "10,40 * * * *",
        "0 3 */10 * *", "1-59/7 * * * *", "0 6 * 3,6,9,12 *", "30 8 * * */2", "0 0 * * MON,WED,FRI", "59 23 31 12 *",
        "0 5 1-7 * *", "0 0 15 */3 *", "20 4 * * 5-6", "0 0 */2 * *", "7 7 7 7 *", "0 18 * * 1-5/2", "5/10 * * * *",
        "0 1/5 * * *", "0 0 1 jan,jul *", "0 0 */2 * 1", "0 12 */5 * *", "*/45 * * * *", "0 */7 * * *",
        "@hourly", "@daily", "@midnight", "@weekly", "@monthly", "@yearly", "@annually",
    ])

    static let calendarExpressions = utc([
        "Mon..Fri 09:00", "Sat,Sun 10:30", "Mon,Wed,Fri *-*-* 06:00:00", "Sat,Thu,Mon..Wed,Sat..Sun",
        "Mon,Sun 12-*-* 2,1:23", "Wed *-1", "Wed..Wed,Wed *-1", "Wed, 17:48", "Wed..Sat,Tue 12-10-15 1:2:3",
        "*-*-7 0:0:0", "10-15", "monday *-12-* 17:00", "Mon,Fri *-*-3,1,2 *:30:45", "12,14,13,12:20,10,30",
        "12..14:10,20,30", "mon,fri *-1/2-1,3 *:30:45", "03-05 08:05:40", "08:05:40", "05:40", "Sat,Sun 12-05 08:05:40",
        "Sat,Sun 08:05:40", "2027-03-05 05:40", "05:40:23.4200004/3.1700005", "2027-02..04-05", "*:2/3", "*:0/15",
        "*-*-* *:*:*", "*-*-* *:*:0/10", "*-*-* 00/3:00", "*-*~01", "*-02~01", "Mon *-05~07/1", "*-*~01..03",
        "*-*-01..07 12:00", "Fri *-*-13 00:00", "*-*-29,30,31 00:00", "*-02-29 12:00", "2026..2030-06-15",
        "2026/2-01-01", "*-*-* 1..5/2:00", "*-*-* 04:00..30/10", "Tue..Thu 3:4:5", "*-*-* 23:59:59",
        "*-*-* 0:0:30..40/5", "*:*:1.5", "*-*-* 12:00:00.25", "1,5,9:15", "Mon-Fri 08:00", "Thursday 14:00",
        "sat..sun *-*-1..7 4:00", "*-1,4,7,10-1 0:0", "Mon *-*-1..7 9:00", "2026-12-31 23:59:59", "*-12-25",
        "26-12-24 18:00", "*-*-* 06,18:00", "*-*-15/5 01:00", "*:*", "*-*-* *:15..45/15", "Sun *-*~01..07 03:00",
        "*-*~07/1", "*-*-* 00:00:59", "@1893456000", "*-02-30", "2020-01-01", "Mon 2026-03-03", "*-*-31 12:00",
        "Mon *-02-29", "*-*-* 0..23/5:0..59/25", "2029-*-* 12:00", "*-06-* 0/6:0:0",
        "*-*-* 12:00:00.5/0.5", "*-*-* 13:13:13.123456", "1970-01-01", "Fri *-*~07/1 22:00",
        "*-01..12/3-01 00:00", "*-*-1/3 00:00", "WEDNESDAY 12:00", "sunday,SATURDAY 6:00", "*-*-* 5,5,5:05",
    ])

    static let berlin =
        zoned(
            "Europe/Berlin",
            [
                "*-*-* 02:30", "*-*-* 02:00", "*-*-* 03:00", "*-*-* 01:59:59", "*-*-* 02:59:59", "*-*-* 02,03:00",
                "*-*-* 00/2:00", "daily 02:30", "30 2 * * *", "weekly sun 02:30", "Sun 02:15", "*-*-* 02..03:00,30",
                "*-*~01 02:30", "Sun *-*~01..07 02:30", "*-*-* 02:00..59/15", "2026-03-29 02:30", "2026-10-25 02:30",
            ], bases: berlinBases, iterations: 6)
        + zoned(
            "Europe/Berlin", ["*:30", "hourly", "*:0/20", "every 15 minutes", "*-*-* *:59:30"],
            bases: berlinBases, iterations: 120)
        + zoned(
            "Europe/Berlin", ["minutely", "*:*:0/30", "*:0/10", "*-*-* 02:*:00", "*-*-* 01..03:00/5"],
            bases: berlinCloseBases, iterations: 40)

    static let newYork =
        zoned(
            "America/New_York",
            [
                "*-*-* 02:30", "*-*-* 01:30", "daily 01:59", "0 2 * * *", "30 1 * * *", "*-*-* 01:00", "*-*-* 02:00",
                "Sun 01:45", "2026-11-01 01:30", "*-*-* 00/1:45",
            ], bases: newYorkBases, iterations: 6)
        + zoned("America/New_York", ["*:30", "hourly", "*:0/15"], bases: newYorkBases, iterations: 120)
        + zoned("America/New_York", ["minutely", "*:*:0/20", "*-*-* 01:*:00"], bases: newYorkCloseBases, iterations: 40)

    static let sydney =
        zoned(
            "Australia/Sydney",
            [
                "*-*-* 02:30", "*-*-* 02:00", "daily 02:59", "30 2 * * *", "*-*-* 03:00", "Sun 02:30",
            ], bases: sydneyBases, iterations: 6)
        + zoned("Australia/Sydney", ["*:30", "every 20 minutes"], bases: sydneyBases, iterations: 100)
        + zoned("Australia/Sydney", ["minutely", "*-*-* 02:*:30"], bases: sydneyCloseBases, iterations: 40)

    static let otherZones =
        zoned("Europe/Dublin", ["*-*-* 01:30", "*:30"], bases: ["2026-03-28 20:00:00", "2026-10-24 20:00:00"], iterations: 30)
        + zoned("Asia/Kolkata", ["*-*-* 00:00", "*:15"], bases: generalBases, iterations: 5)
        + zoned("Australia/Lord_Howe", ["*:15", "*-*-* 02:00..59/10"], bases: ["2026-04-04 13:00:00", "2026-10-03 14:00:00"], iterations: 30)
        + zoned("America/Sao_Paulo", ["daily 00:30"], bases: generalBases, iterations: 5)
        + zoned("Pacific/Chatham", ["*-*-* 02:45..59/5", "*:45"], bases: ["2026-04-04 12:00:00", "2026-09-26 12:00:00"], iterations: 30)
        + zoned("Europe/London", ["monthly last 01:30", "Sun *-*~07/1 01:30"], bases: ["2026-01-01 00:00:00"], iterations: 12)
        + zoned("Etc/UTC", ["daily 06:00"], bases: generalBases, iterations: 3)
        + zoned("America/Los_Angeles", ["weekdays 02:30"], bases: ["2026-03-06 00:00:00", "2026-10-30 00:00:00"], iterations: 6)
        // Ramadan: negative DST (03:00 → 02:00 on 2026-02-15, 02:00 → 03:00 on 2026-03-22).
        + zoned("Africa/Casablanca", ["*:30", "*-*-* 02:30", "hourly"], bases: ["2026-02-14 20:00:00", "2026-03-21 20:00:00"], iterations: 30)
        // Transitions at midnight: the day starts at 01:00 or midnight happens twice.
        + zoned(
            "America/Santiago", ["daily", "*-*-* 00:30", "*:30", "*-*-* 23:30"], bases: ["2026-04-04 00:00:00", "2026-09-05 00:00:00"], iterations: 30
        )
        + zoned("America/Havana", ["daily", "*:15"], bases: ["2026-03-07 12:00:00", "2026-10-31 12:00:00"], iterations: 30)
        // Two-hour DST.
        + zoned("Antarctica/Troll", ["*:30", "*-*-* 01:30", "*-*-* 02:30"], bases: ["2026-03-28 20:00:00", "2026-10-24 20:00:00"], iterations: 30)

    /// Inputs written with the zone inside the expression (moved into `timeZone`).
    static let zoneInExpression = [
        Case(input: "daily Europe/Berlin", zone: "UTC", bases: berlinBases, iterations: 4),
        Case(input: "weekly Pacific/Auckland", zone: "UTC", bases: generalBases, iterations: 3),
        Case(input: "*-*-* 02:30 America/New_York", zone: "UTC", bases: newYorkBases, iterations: 4),
        Case(input: "02:00 utc", zone: "UTC", bases: generalBases, iterations: 3),
        Case(input: "0 3 * * * Australia/Sydney", zone: "UTC", bases: sydneyBases, iterations: 4),
    ]

    static let allCases: [Case] =
        presets + cronLines + calendarExpressions + berlin + newYork + sydney + otherZones + zoneInExpression

    /// The input as systemd would get it in a unit file (zone appended unless already there).
    static func rawLine(_ item: Case) -> String {
        let lastWord = item.input.split(separator: " ").last.map(String.init) ?? ""
        let hasZone = lastWord.contains("/") && lastWord.first?.isLetter == true || lastWord.lowercased() == "utc"
        return hasZone ? item.input : item.input + " " + item.zone
    }

    /// Preset extensions and cron lines, which systemd itself does not understand.
    static func isExtensionSyntax(_ input: String) -> Bool {
        let words = input.split(separator: " ").map { $0.lowercased() }
        if input.hasPrefix("@") && !input.dropFirst().allSatisfy(\.isNumber) { return true }
        return words.count >= 5 || SchedulePreset.keywords.contains(words.first ?? "")
    }

    // MARK: Tests

    @Test("the corpus is large and covers DST zones")
    func corpusSize() {
        let distinct = Set(Self.allCases.map { "\($0.input)|\($0.zone)" })
        #expect(distinct.count >= 170)
        let nonUTC = Self.allCases.filter { $0.zone != "UTC" && $0.zone != "Etc/UTC" }
        #expect(nonUTC.count >= 25)
    }

    @Test("normalized form and elapse times match systemd-analyze")
    func matchesSystemd() throws {
        struct Job {
            let line: String
            let item: Case
        }
        var groups: [String: (base: String, iterations: Int, jobs: [Job])] = [:]
        var parseFailures: [String] = []
        for item in Self.allCases {
            let schedule: Schedule
            do {
                schedule = try Schedule.parse(item.input, timeZone: item.zone)
            } catch {
                parseFailures.append("\(item): \(error)")
                continue
            }
            for base in item.bases {
                let key = "\(base)|\(item.iterations)"
                groups[key, default: (base, item.iterations, [])].jobs.append(Job(line: schedule.onCalendarLine, item: item))
            }
        }
        #expect(parseFailures.isEmpty, "Schedule.parse failed:\n\(parseFailures.joined(separator: "\n"))")

        var checked = 0
        var giveUps = 0
        var comparedElapses = 0
        var rawCompared = 0
        var mismatches: [String] = []
        for key in groups.keys.sorted() {
            let group = groups[key]!
            // Our normalized line, and the input itself (with the zone) for systemd to normalize.
            let lines = Array(Set(group.jobs.map(\.line) + group.jobs.map { Self.rawLine($0.item) })).sorted()
            let batch = try SystemdAnalyzeOracle.evaluate(lines, base: group.base, iterations: group.iterations)
            let baseDate = SystemdAnalyzeOracle.date(group.base)
            for job in group.jobs {
                checked += 1
                let schedule = try Schedule.parse(job.item.input, timeZone: job.item.zone)
                let ours = schedule.nextElapses(after: baseDate, count: group.iterations).map(SystemdAnalyzeOracle.format)
                guard let answer = batch.answers[job.line] else {
                    if batch.standardError.contains("Failed to determine next elapse for '\(job.line)'") {
                        // systemd gave up during one of the iterations (its search loop hit its
                        // step limit) and printed nothing: we must stop at the same iteration.
                        giveUps += 1
                        if ours.count >= group.iterations {
                            mismatches.append("\(job.item) from \(group.base): systemd gives up, we found \(ours.count) elapses")
                        } else if !ours.isEmpty {
                            let before = try SystemdAnalyzeOracle.evaluate([job.line], base: group.base, iterations: ours.count)
                            if before.answers[job.line]?.elapses != ours {
                                mismatches.append("\(job.item) from \(group.base): elapses before systemd gives up differ")
                            }
                        }
                        continue
                    }
                    mismatches.append("\(job.item) → \(job.line): systemd-analyze did not accept it")
                    continue
                }
                if answer.normalized != job.line {
                    mismatches.append("\(job.item): normalized \(job.line) but systemd says \(answer.normalized)")
                }
                let raw = Self.rawLine(job.item)
                if let rawAnswer = batch.answers[raw] {
                    rawCompared += 1
                    if rawAnswer.normalized != job.line {
                        mismatches.append("\(job.item): systemd normalizes the input to \(rawAnswer.normalized), we to \(job.line)")
                    }
                } else if !Self.isExtensionSyntax(job.item.input) {
                    mismatches.append("\(job.item): systemd rejects \(raw), we accept it")
                }
                comparedElapses += answer.elapses.count
                if ours != answer.elapses {
                    let firstDifference = zip(ours, answer.elapses).enumerated().first { $0.element.0 != $0.element.1 }
                    let detail =
                        firstDifference.map { "first difference at #\($0.offset + 1): ours \($0.element.0), systemd \($0.element.1)" }
                        ?? "ours has \(ours.count) elapses, systemd \(answer.elapses.count)"
                    mismatches.append("\(job.item) from \(group.base): \(detail)")
                }
            }
        }
        #expect(checked >= 170)
        #expect(comparedElapses >= 3000)
        #expect(rawCompared >= 150, "inputs normalized by systemd itself: \(rawCompared)")
        #expect(giveUps < checked / 10, "too many evaluations where systemd gives up")
        #expect(mismatches.isEmpty, "\(mismatches.count) mismatches:\n\(mismatches.joined(separator: "\n"))")
    }

    // MARK: Generated expressions

    /// Pieces combined into "[weekdays] [date] [time]" expressions, valid and invalid alike.
    static let weekdayPieces = [
        "", "", "", "Mon", "mon..fri", "Sat,Sun", "Fri..Mon", "Mon-Wed", "Tue,", "Monday..Wednesday,Sat",
        "Sun", "Wed..Wed", "Mo", "Mon..Tue..Fri", "Thu,Fri,Sat,Sun,Mon",
    ]
    static let datePieces = [
        "", "", "*-*-*", "*-*-1", "2026-*-*", "*-2~1", "*-*~7/1", "*-1/3-1", "26-12-24", "*-*-31", "*-02-29",
        "*-13-1", "*-*-0", "2027-06-15", "*-*~01..07", "12-25", "*-*-1..7", "*-*-*/2", "2026..2028-1-1",
        "*-1,7-1", "*-*-15/10", "1999-*-*", "*~1", "*-*-1,15,31", "*-3,10-*", "*-10~1..7",
    ]
    static let timePieces = [
        "", "12:00", "*:0/15", "*:*:*", "0..23/5:0", "1,2,3:4:5", "*:50/15", "25:00", "*:*:1.5", "02:30",
        "*:*", "00:00:05..05", "12:00:00.123456", "2:30", "*:30", "01..03:*/5", "0/6:00", "*:*:0/20",
        "23:59:60", "12:", "06:00:00", "*:0..30/10", "1..3:00,30", "00:00:59.9999995", "2:0/20", "1..4:15",
    ]
    static let generatedZones = ["UTC", "Europe/Berlin", "America/New_York", "Australia/Sydney"]
    static let generatedBases = ["2026-03-27 12:00:00", "2026-10-23 12:00:00", "2026-04-03 00:00:00", "2026-10-30 18:00:00"]

    /// A fixed pseudo-random selection (same every run).
    static func generatedCases(count: Int) -> [(expression: String, zone: String, base: String)] {
        var state: UInt64 = 0x5EED_CA1E_DA7E
        func next(_ n: Int) -> Int {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Int((state >> 33) % UInt64(n))
        }
        var seen = Set<String>()
        var result: [(String, String, String)] = []
        while result.count < count {
            let parts = [weekdayPieces[next(weekdayPieces.count)], datePieces[next(datePieces.count)], timePieces[next(timePieces.count)]]
            let expression = parts.filter { !$0.isEmpty }.joined(separator: " ")
            let zone = generatedZones[next(generatedZones.count)]
            let base = generatedBases[next(generatedBases.count)]
            guard !expression.isEmpty, seen.insert(expression + zone).inserted else { continue }
            result.append((expression, zone, base))
        }
        return result
    }

    @Test("generated expressions: same acceptance, normalization and elapses as systemd")
    func generatedExpressionsAgree() throws {
        let cases = Self.generatedCases(count: 600)
        var accepted = 0
        var rejected = 0
        var problems: [String] = []
        for base in Self.generatedBases {
            let group = cases.filter { $0.base == base }
            let lines = group.map { "\($0.expression) \($0.zone)" }
            let batch = try SystemdAnalyzeOracle.evaluate(lines, base: base, iterations: 5)
            let baseDate = SystemdAnalyzeOracle.date(base)
            for (item, line) in zip(group, lines) {
                let ours = try? Schedule.parse(item.expression, timeZone: item.zone)
                let gaveUp = batch.standardError.contains("Failed to determine next elapse for '\(line)'")
                guard let answer = batch.answers[line] else {
                    if gaveUp {
                        accepted += 1
                        if let ours, ours.nextElapses(after: baseDate, count: 5).count >= 5 {
                            problems.append("\(line) from \(base): systemd gives up, we do not")
                        } else if ours == nil {
                            problems.append("\(line): systemd accepts it, we reject it")
                        }
                        continue
                    }
                    rejected += 1
                    if let ours { problems.append("\(line): systemd rejects it, we accept it as \(ours.onCalendarLine)") }
                    continue
                }
                accepted += 1
                guard let ours else {
                    problems.append("\(line): systemd accepts it (\(answer.normalized)), we reject it")
                    continue
                }
                if answer.normalized != ours.onCalendarLine {
                    problems.append("\(line): systemd normalizes to \(answer.normalized), we to \(ours.onCalendarLine)")
                }
                let elapses = ours.nextElapses(after: baseDate, count: 5).map(SystemdAnalyzeOracle.format)
                if elapses != answer.elapses {
                    problems.append("\(line) from \(base): systemd \(answer.elapses), we \(elapses)")
                }
            }
        }
        #expect(accepted >= 100 && rejected >= 50, "accepted \(accepted), rejected \(rejected)")
        #expect(problems.isEmpty, "\(problems.count) disagreements:\n\(problems.joined(separator: "\n"))")
    }

    /// Expressions systemd refuses must be refused too (and the other way round, above).
    static let invalidExpressions = [
        "*:50/15", "*/5:00", "00:00:05..05", "*-*-* 25:00", "*-13-01", "foo 02:00", "Mon..", "Fri..Mon", "*-*~29",
        "*-*-* 12:60", "12:00:60", "1969-01-01", "2200-01-01", "*-*-* 0/0:00", "Mon..Wed..Fri", "*-*-* *:*:*:*",
        "12:00 13:00", "Mon,Foo", "*-*-1.5", "*-*-* 12:00:1.", "Mond 12:00", "*-*-* 1..:00", "2026~01-05",
        "*-*~01/2", "*-*-* 0/24:00", "12", "*-*-* 12:00 Europe/Nowhere", "*-*-* 5..3:00", "Mon-Tue-Wed", "*-*~03..01",
    ]

    @Test("expressions systemd rejects are rejected")
    func rejectsWhatSystemdRejects() throws {
        let batch = try SystemdAnalyzeOracle.evaluate(Self.invalidExpressions, base: "2026-01-01 00:00:00", iterations: 1)
        for expression in Self.invalidExpressions {
            #expect(
                batch.standardError.contains("Failed to parse calendar specification '\(expression)'"),
                "systemd accepted \(expression)")
            #expect(throws: ScheduleError.self, "we accepted \(expression)") {
                _ = try Schedule.parse(expression)
            }
        }
    }
}
