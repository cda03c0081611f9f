import Foundation
import Testing

@testable import BackupCore

/// A UTC date from "yyyy-MM-dd HH:mm:ss".
private func utc(_ text: String) -> Date {
    let f = DateFormatter()
    f.locale = Locale(identifier: "en_US_POSIX")
    f.timeZone = TimeZone(identifier: "UTC")
    f.dateFormat = "yyyy-MM-dd HH:mm:ss"
    return f.date(from: text)!
}

private func calendarOf(_ input: String, timeZone: String = "UTC") throws -> String {
    try Schedule.parse(input, timeZone: timeZone).calendar
}

@Suite("Schedule presets")
struct SchedulePresetTests {
    @Test(
        "presets translate to calendar events",
        arguments: [
            ("minutely", "*-*-* *:*:00"),
            ("hourly", "*-*-* *:00:00"),
            ("daily", "*-*-* 00:00:00"),
            ("weekly", "Mon *-*-* 00:00:00"),
            ("monthly", "*-*-01 00:00:00"),
            ("quarterly", "*-01,04,07,10-01 00:00:00"),
            ("semiannually", "*-01,07-01 00:00:00"),
            ("yearly", "*-01-01 00:00:00"),
            ("annually", "*-01-01 00:00:00"),
            ("DAILY", "*-*-* 00:00:00"),
            ("daily 02:30", "*-*-* 02:30:00"),
            ("daily 2:05", "*-*-* 02:05:00"),
            ("Daily 23:59:59", "*-*-* 23:59:59"),
            ("weekly sun 03:00", "Sun *-*-* 03:00:00"),
            ("weekly Friday", "Fri *-*-* 00:00:00"),
            ("monthly 15 04:00", "*-*-15 04:00:00"),
            ("monthly 02:00", "*-*-01 02:00:00"),
            ("monthly 31", "*-*-31 00:00:00"),
            ("monthly last 23:00", "*-*~01 23:00:00"),
            ("hourly :45", "*-*-* *:45:00"),
            ("hourly 7", "*-*-* *:07:00"),
            ("every 15 minutes", "*-*-* *:00/15:00"),
            ("every minute", "*-*-* *:*:00"),
            ("every 60 minutes", "*-*-* *:00:00"),
            ("every 6 hours", "*-*-* 00/6:00:00"),
            ("every 24 hours", "*-*-* 00:00:00"),
            ("weekdays 18:00", "Mon..Fri *-*-* 18:00:00"),
            ("weekends 09:30", "Sat,Sun *-*-* 09:30:00"),
        ])
    func preset(input: String, expected: String) throws {
        #expect(try calendarOf(input) == expected)
    }

    @Test(
        "preset mistakes name the bad word",
        arguments: [
            ("daily 25:00", "25"),
            ("daily 2pm", "2pm"),
            ("every 7 minutes", "7"),
            ("every 5 hours", "5"),
            ("every 5 fortnights", "fortnights"),
            ("weekly someday", "someday"),
            ("monthly 32", "32"),
            ("hourly 60", "60"),
            ("daily 02:00 03:00", "02:00 03:00"),
        ])
    func presetErrors(input: String, fragment: String) {
        let error = #expect(throws: ScheduleError.self) { try Schedule.parse(input) }
        #expect(error?.fragment == fragment)
        #expect(error?.input == input)
    }

    @Test("every N minutes explains the allowed values")
    func everyReason() {
        let error = #expect(throws: ScheduleError.self) { try Schedule.parse("every 7 minutes") }
        #expect(error?.reason.contains("1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30 or 60") == true)
    }
}

@Suite("Cron lines")
struct ScheduleCronTests {
    @Test(
        "cron lines translate to calendar events",
        arguments: [
            ("30 2 * * *", "*-*-* 02:30:00"),
            ("*/15 * * * *", "*-*-* *:00/15:00"),
            ("0 */6 * * *", "*-*-* 00/6:00:00"),
            ("0 22 * * 1-5", "Mon..Fri *-*-* 22:00:00"),
            ("5 4 * * sun", "Sun *-*-* 04:05:00"),
            ("0 12 * * 7", "Sun *-*-* 12:00:00"),
            ("0 12 * * 0,7", "Sun *-*-* 12:00:00"),
            ("0 0 * * 0-7", "*-*-* 00:00:00"),
            ("45 23 * * 6,0", "Sat,Sun *-*-* 23:45:00"),
            ("0 0 * * MON,WED,FRI", "Mon,Wed,Fri *-*-* 00:00:00"),
            ("30 8 * * */2", "Tue,Thu,Sat,Sun *-*-* 08:30:00"),
            ("0 0 1 * *", "*-*-01 00:00:00"),
            ("0 0 1 1 *", "*-01-01 00:00:00"),
            ("0 9 * jan-mar *", "*-01..03-* 09:00:00"),
            ("0 0,12 1 */2 *", "*-01/2-01 00,12:00:00"),
            ("23 0-20/2 * * *", "*-*-* 00..20/2:23:00"),
            ("*/5 9-17 * * mon-fri", "Mon..Fri *-*-* 09..17:00/5:00"),
            ("0 3 */10 * *", "*-*-01/10 03:00:00"),
            ("1-59/7 * * * *", "*-*-* *:01/7:00"),
            ("1-30/7 * * * *", "*-*-* *:01..29/7:00"),
            ("5/10 * * * *", "*-*-* *:05/10:00"),
            ("*/45 * * * *", "*-*-* *:00/45:00"),
            ("0 */7 * * *", "*-*-* 00/7:00:00"),
            ("0 0 */2 * 1", "Mon *-*-01/2 00:00:00"),
            ("7 7 7 7 *", "*-07-07 07:07:00"),
            ("@hourly", "*-*-* *:00:00"),
            ("@daily", "*-*-* 00:00:00"),
            ("@midnight", "*-*-* 00:00:00"),
            ("@weekly", "Sun *-*-* 00:00:00"),
            ("@monthly", "*-*-01 00:00:00"),
            ("@yearly", "*-01-01 00:00:00"),
            ("@ANNUALLY", "*-01-01 00:00:00"),
            ("0 18 * * mon-fri/2", "Mon,Wed,Fri *-*-* 18:00:00"),
            ("0 3 * * * Europe/Berlin", "*-*-* 03:00:00"),
        ])
    func cron(input: String, expected: String) throws {
        #expect(try calendarOf(input) == expected)
    }

    @Test("day of month OR day of week is refused with advice")
    func orSemantics() {
        let error = #expect(throws: ScheduleError.self) { try Schedule.parse("0 2 13 * fri") }
        #expect(error?.fragment == "13 fri")
        #expect(error?.reason.contains("OR") == true)
        #expect(error?.reason.contains("two schedules") == true)
        #expect(error?.reason.contains("\"0 2 13 * *\"") == true)
        #expect(error?.reason.contains("\"0 2 * * fri\"") == true)
    }

    @Test("a restricted day of week with a '*' day of month is AND, as in cron")
    func starDayOfMonth() throws {
        #expect(try calendarOf("0 0 */2 * 1") == "Mon *-*-01/2 00:00:00")
    }

    @Test(
        "cron mistakes name the bad field",
        arguments: [
            ("61 * * * *", "61"),
            ("0 24 * * *", "24"),
            ("0 0 0 * *", "0"),
            ("0 0 * 13 *", "13"),
            ("0 0 * * 8", "8"),
            ("0 0 * * fri-mon", "fri-mon"),
            ("0 0 L * *", "L"),
            ("0 0 * * */0", "*/0"),
            ("0 0 * foo *", "foo"),
            ("0 2 * *", "0 2 * *"),
            ("0 2 * * * * *", "0 2 * * * * *"),
            ("@reboot", "@reboot"),
            ("@fortnightly", "@fortnightly"),
        ])
    func cronErrors(input: String, fragment: String) {
        let error = #expect(throws: ScheduleError.self) { try Schedule.parse(input) }
        #expect(error?.fragment == fragment)
    }
}

@Suite("Calendar expressions")
struct ScheduleCalendarExpressionTests {
    /// The examples of systemd.time(7).
    @Test(
        "normalization matches systemd",
        arguments: [
            ("Sat,Thu,Mon..Wed,Sat..Sun", "Mon..Thu,Sat,Sun *-*-* 00:00:00"),
            ("Mon,Sun 12-*-* 2,1:23", "Mon,Sun 2012-*-* 01,02:23:00"),
            ("Wed *-1", "Wed *-*-01 00:00:00"),
            ("Wed..Wed,Wed *-1", "Wed *-*-01 00:00:00"),
            ("Wed, 17:48", "Wed *-*-* 17:48:00"),
            ("Wed..Sat,Tue 12-10-15 1:2:3", "Tue..Sat 2012-10-15 01:02:03"),
            ("*-*-7 0:0:0", "*-*-07 00:00:00"),
            ("10-15", "*-10-15 00:00:00"),
            ("monday *-12-* 17:00", "Mon *-12-* 17:00:00"),
            ("Mon,Fri *-*-3,1,2 *:30:45", "Mon,Fri *-*-01,02,03 *:30:45"),
            ("12,14,13,12:20,10,30", "*-*-* 12,13,14:10,20,30:00"),
            ("12..14:10,20,30", "*-*-* 12..14:10,20,30:00"),
            ("mon,fri *-1/2-1,3 *:30:45", "Mon,Fri *-01/2-01,03 *:30:45"),
            ("03-05 08:05:40", "*-03-05 08:05:40"),
            ("08:05:40", "*-*-* 08:05:40"),
            ("05:40", "*-*-* 05:40:00"),
            ("Sat,Sun 12-05 08:05:40", "Sat,Sun *-12-05 08:05:40"),
            ("Sat,Sun 08:05:40", "Sat,Sun *-*-* 08:05:40"),
            ("2003-03-05 05:40", "2003-03-05 05:40:00"),
            ("05:40:23.4200004/3.1700005", "*-*-* 05:40:23.420000/3.170001"),
            ("2003-02..04-05", "2003-02..04-05 00:00:00"),
            ("2003-03-05", "2003-03-05 00:00:00"),
            ("03-05", "*-03-05 00:00:00"),
            ("*:2/3", "*-*-* *:02/3:00"),
            ("Mon,Tue,Wed 00:00", "Mon..Wed *-*-* 00:00:00"),
            ("Mon..Sun 12:00", "*-*-* 12:00:00"),
            ("*:*:0/1", "*-*-* *:*:*"),
            ("*-*~01", "*-*~01 00:00:00"),
            ("*-*-* 1..5/2:00", "*-*-* 01..05/2:00:00"),
            ("*-*-* 0..10/3:00", "*-*-* 00..09/3:00:00"),
            ("@1700000000", "2023-11-14 22:13:20"),
        ])
    func normalize(input: String, expected: String) throws {
        #expect(try calendarOf(input) == expected)
    }

    @Test(
        "errors name the bad fragment",
        arguments: [
            ("*-*-* 25:00", "25", "\"25\" is not an hour (0–23)"),
            ("foo 02:00", "foo", "is not a weekday, date or time"),
            ("*-*-* 12:60", "60", "\"60\" is not a minute (0–59)"),
            ("*-13-01", "13", "\"13\" is not a month (1–12)"),
            ("*-*-32", "32", "\"32\" is not a day of the month (1–31)"),
            ("12:00:61", "61", "is not a second"),
            ("2200-01-01", "2200", "is not a year (1970–2199)"),
            ("*:50/15", "50/15", "never repeats"),
            ("*/5:00", "*/5:00", "\"*/N\""),
            ("Fri..Mon 12:00", "Fri..Mon", "runs backwards"),
            ("Mon.. 12:00", "Mon..", "open weekday range"),
            ("Mond 12:00", "Mond", "is not a weekday"),
            ("*-*-* 5..3:00", "5..3", "ends before it starts"),
            ("*-*-* 0/0:00", "0/0", "at least 1"),
            ("*-*~29", "29", "from the end of the month"),
            ("12:00 13:00", "13:00", "left over"),
            ("", "", "empty"),
            ("Mon *-*-* 12:00 Europe/Nowhere", "Europe/Nowhere", "not a known time zone"),
            ("*-*-* 00:00:05..05", "05..05", "at least one second"),
            ("*-*-* 1..:00", "1..", "incomplete"),
            ("12:", "12:", "missing a value"),
            ("*-*-* 2x:00", "2x", "not a valid value"),
        ])
    func errors(input: String, fragment: String, reasonPart: String) {
        let error = #expect(throws: ScheduleError.self) { try Schedule.parse(input) }
        #expect(error?.fragment == fragment)
        #expect(error?.reason.contains(reasonPart) == true, "reason was: \(error?.reason ?? "-")")
        #expect(error?.input == input)
    }

    @Test("odd text is refused, not crashed on", arguments: ["Mön 12:00", "２:00", "12:00 🕑", "\u{0}", "@", "@abc", "*-*-* 1.5:00", "-", "~", ":"])
    func oddText(input: String) {
        #expect(throws: ScheduleError.self) { try Schedule.parse(input) }
    }

    @Test("whitespace around and between parts is tolerated")
    func whitespace() throws {
        #expect(try calendarOf("  Mon..Fri \t *-*-*   02:30 \n") == "Mon..Fri *-*-* 02:30:00")
        #expect(try calendarOf("\tdaily   02:30") == "*-*-* 02:30:00")
    }

    @Test("the description quotes the input")
    func description() {
        let error = #expect(throws: ScheduleError.self) { try Schedule.parse("*-*-* 25:00") }
        #expect(error?.description == "schedule \"*-*-* 25:00\": \"25\" is not an hour (0–23)")
    }

    @Test("expressions that never elapse give no dates")
    func never() throws {
        let base = utc("2026-01-01 00:00:00")
        #expect(try Schedule.parse("2020-01-01").nextElapses(after: base, count: 3).isEmpty)
        #expect(try Schedule.parse("*-02-30").nextElapse(after: base) == nil)
        #expect(try Schedule.parse("Mon 2026-03-03").nextElapse(after: base) == nil)
    }
}

@Suite("Time zones")
struct ScheduleTimeZoneTests {
    @Test(
        "IANA names and UTC are accepted",
        arguments: ["UTC", "Europe/Berlin", "America/New_York", "Australia/Sydney", "Asia/Kolkata", "America/Argentina/Buenos_Aires", "Etc/GMT+2"])
    func valid(zone: String) throws {
        let schedule = try Schedule.parse("daily", timeZone: zone)
        #expect(schedule.timeZone == zone)
        #expect(schedule.onCalendarLine == "*-*-* 00:00:00 \(zone)")
    }

    @Test(
        "unknown zones and abbreviations are refused",
        arguments: [
            ("Europe/Berln", "not a known time zone"),
            ("europe/berlin", "did you mean \"Europe/Berlin\""),
            ("Mars/Olympus", "not a known time zone"),
            ("CET", "abbreviation"),
            ("PST", "abbreviation"),
            ("GMT+2", "not a known time zone"),
            ("", "empty"),
            ("../etc/passwd", "not a known time zone"),
        ])
    func invalid(zone: String, reasonPart: String) {
        let error = #expect(throws: ScheduleError.self) { try Schedule.parse("daily", timeZone: zone) }
        #expect(error?.fragment == zone)
        #expect(error?.reason.contains(reasonPart) == true, "reason was: \(error?.reason ?? "-")")
    }

    @Test("lower-case utc means UTC")
    func lowerUTC() throws {
        #expect(try Schedule.parse("daily", timeZone: "utc").timeZone == "UTC")
        #expect(try Schedule.parse("02:00 utc").timeZone == "UTC")
    }

    @Test("a zone inside the expression moves into timeZone")
    func zoneInExpression() throws {
        let s = try Schedule.parse("daily 02:30 Europe/Berlin")
        #expect(s.calendar == "*-*-* 02:30:00")
        #expect(s.timeZone == "Europe/Berlin")
        let same = try Schedule.parse("*-*-* 02:30 Europe/Berlin", timeZone: "Europe/Berlin")
        #expect(same == s)
        let cron = try Schedule.parse("30 2 * * * America/New_York")
        #expect(cron.onCalendarLine == "*-*-* 02:30:00 America/New_York")
    }

    @Test("two different zones are refused")
    func conflictingZones() {
        let error = #expect(throws: ScheduleError.self) {
            try Schedule.parse("daily Europe/Berlin", timeZone: "America/New_York")
        }
        #expect(error?.fragment == "Europe/Berlin")
        #expect(error?.reason.contains("only once") == true)
    }

    @Test("an abbreviation inside the expression is refused")
    func abbreviationInExpression() {
        let error = #expect(throws: ScheduleError.self) { try Schedule.parse("daily CET") }
        #expect(error?.fragment == "CET")
    }

    @Test("@EPOCH is absolute, hence UTC")
    func epoch() throws {
        let s = try Schedule.parse("@1893456000", timeZone: "Europe/Berlin")
        #expect(s.timeZone == "UTC")
        #expect(s.nextElapse(after: utc("2026-01-01 00:00:00")) == utc("2030-01-01 00:00:00"))
    }
}

@Suite("Next elapse")
struct ScheduleNextElapseTests {
    @Test("elapses are strictly after the date")
    func strictlyAfter() throws {
        let s = try Schedule.parse("daily 02:30")
        #expect(s.nextElapse(after: utc("2026-05-01 02:30:00")) == utc("2026-05-02 02:30:00"))
        #expect(s.nextElapse(after: utc("2026-05-01 02:29:59").addingTimeInterval(0.999)) == utc("2026-05-01 02:30:00"))
        #expect(
            s.nextElapses(after: utc("2026-05-01 00:00:00"), count: 3)
                == [utc("2026-05-01 02:30:00"), utc("2026-05-02 02:30:00"), utc("2026-05-03 02:30:00")])
        #expect(s.nextElapses(after: utc("2026-05-01 00:00:00"), count: 0).isEmpty)
    }

    @Test("month ends, leap days and weekdays")
    func calendarArithmetic() throws {
        let lastDay = try Schedule.parse("monthly last 23:00")
        #expect(
            lastDay.nextElapses(after: utc("2028-01-31 23:00:00"), count: 3)
                == [utc("2028-02-29 23:00:00"), utc("2028-03-31 23:00:00"), utc("2028-04-30 23:00:00")])
        let leap = try Schedule.parse("0 12 29 2 *")
        #expect(
            leap.nextElapses(after: utc("2026-01-01 00:00:00"), count: 2)
                == [utc("2028-02-29 12:00:00"), utc("2032-02-29 12:00:00")])
        let friday13 = try Schedule.parse("Fri *-*-13 00:00")
        #expect(friday13.nextElapse(after: utc("2026-01-01 00:00:00")) == utc("2026-02-13 00:00:00"))
    }

    @Test("Europe/Berlin: 02:30 does not exist on the spring-forward day and is skipped")
    func springForwardSkips() throws {
        let s = try Schedule.parse("daily 02:30", timeZone: "Europe/Berlin")
        // 2026-03-28 02:30 CET, (2026-03-29 02:30 does not exist), 2026-03-30 02:30 CEST
        #expect(
            s.nextElapses(after: utc("2026-03-28 00:00:00"), count: 2)
                == [utc("2026-03-28 01:30:00"), utc("2026-03-30 00:30:00")])
    }

    @Test("Europe/Berlin: hourly jumps over the missing hour")
    func springForwardHourly() throws {
        let s = try Schedule.parse("*:30", timeZone: "Europe/Berlin")
        // 01:30 CET = 00:30Z, next 03:30 CEST = 01:30Z
        #expect(
            s.nextElapses(after: utc("2026-03-29 00:00:00"), count: 2)
                == [utc("2026-03-29 00:30:00"), utc("2026-03-29 01:30:00")])
    }

    @Test("Europe/Berlin: a time in the repeated hour runs once, at its first occurrence")
    func fallBackOnce() throws {
        let s = try Schedule.parse("daily 02:30", timeZone: "Europe/Berlin")
        // 2026-10-25 02:30 CEST (00:30Z); the second 02:30 (CET, 01:30Z) is skipped.
        #expect(
            s.nextElapses(after: utc("2026-10-24 12:00:00"), count: 2)
                == [utc("2026-10-25 00:30:00"), utc("2026-10-26 01:30:00")])
        let hourly = try Schedule.parse("*:30", timeZone: "Europe/Berlin")
        // After 02:30 CEST the next is 03:30 CET: the repeated hour is not run twice.
        #expect(
            hourly.nextElapses(after: utc("2026-10-25 00:00:00"), count: 2)
                == [utc("2026-10-25 00:30:00"), utc("2026-10-25 02:30:00")])
        // Starting inside the second occurrence finds times in it.
        #expect(hourly.nextElapse(after: utc("2026-10-25 01:05:00")) == utc("2026-10-25 01:30:00"))
    }

    @Test("America/New_York and Australia/Sydney transitions")
    func otherZones() throws {
        let ny = try Schedule.parse("30 2 * * *", timeZone: "America/New_York")
        // 2026-03-08 02:30 does not exist in New York.
        #expect(ny.nextElapses(after: utc("2026-03-07 12:00:00"), count: 1) == [utc("2026-03-09 06:30:00")])
        let nyFall = try Schedule.parse("daily 01:30", timeZone: "America/New_York")
        #expect(
            nyFall.nextElapses(after: utc("2026-10-31 12:00:00"), count: 2)
                == [utc("2026-11-01 05:30:00"), utc("2026-11-02 06:30:00")])
        let sydney = try Schedule.parse("daily 02:30", timeZone: "Australia/Sydney")
        // Autumn (April): 02:30 AEDT on 2026-04-05 is 15:30Z on the 4th; spring (October): skipped.
        #expect(sydney.nextElapse(after: utc("2026-04-04 00:00:00")) == utc("2026-04-04 15:30:00"))
        #expect(sydney.nextElapses(after: utc("2026-10-03 00:00:00"), count: 1) == [utc("2026-10-04 15:30:00")])
    }

    @Test("thousands of elapses are fast")
    func performance() throws {
        let every = try Schedule.parse("*:*:*")
        let minutely = try Schedule.parse("minutely", timeZone: "Europe/Berlin")
        let clock = ContinuousClock()
        let elapsed = clock.measure {
            for _ in 0..<20 {
                #expect(every.nextElapses(after: utc("2026-03-29 00:59:00"), count: 100).count == 100)
                #expect(minutely.nextElapses(after: utc("2026-03-29 00:00:00"), count: 100).count == 100)
            }
        }
        #expect(elapsed < .seconds(2), "4000 elapses took \(elapsed)")
        let seconds = every.nextElapses(after: utc("2026-01-01 00:00:00"), count: 100)
        #expect(seconds.last == utc("2026-01-01 00:01:40"))
    }
}

@Suite("Schedule value")
struct ScheduleValueTests {
    @Test("Codable round trip keeps calendar and zone")
    func codable() throws {
        let s = try Schedule.parse("weekdays 18:00", timeZone: "Europe/Berlin")
        let data = try JSONEncoder().encode(s)
        let json = try #require(String(data: data, encoding: .utf8))
        #expect(json.contains("\"calendar\""))
        #expect(json.contains("\"timeZone\""))
        #expect(try JSONDecoder().decode(Schedule.self, from: data) == s)
    }

    @Test("decoding refuses invalid schedules")
    func decodeInvalid() {
        let json = Data(#"{"calendar":"*-*-* 25:00","timeZone":"UTC"}"#.utf8)
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(Schedule.self, from: json) }
        let zone = Data(#"{"calendar":"daily","timeZone":"Mars/Base"}"#.utf8)
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(Schedule.self, from: zone) }
    }

    @Test("equal inputs give equal values; the line is calendar plus zone")
    func equality() throws {
        #expect(try Schedule.parse("daily") == Schedule.parse("0 0 * * *"))
        #expect(try Schedule.parse("daily") == Schedule.parse("*-*-* 00:00:00"))
        #expect(try Schedule.parse("daily").onCalendarLine == "*-*-* 00:00:00 UTC")
        #expect(try Schedule.parse("daily").description == "*-*-* 00:00:00 UTC")
    }
}
