import ArgumentParser
import BackupCore
import Foundation
import HubAPI

struct ScheduleCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "schedule", abstract: "Work with schedules offline (the same code the hub uses).", subcommands: [Preview.self]
    )

    struct Preview: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "preview", abstract: "Normalize a schedule and print its next elapses.",
            discussion:
                "EXPR is a preset (hourly, daily, daily 02:30, weekly, weekly sun 03:00, monthly…), a 5-field cron line or a systemd OnCalendar expression."
        )
        @Argument(help: "The schedule.") var expression: String
        @Option(name: .long, help: "IANA time zone (default UTC).") var tz = "UTC"
        @Option(name: .long, help: "How many elapses (1–1000).") var count = 5
        @Option(name: .long, help: "Start from this ISO-8601 time instead of now.") var from: String?
        @Flag(name: .long, help: "Print JSON.") var json = false

        func run() async throws {
            guard (1...1000).contains(count) else { throw CLIError("--count \(count) is out of range; use 1 to 1000") }
            var start = Date()
            if let from {
                guard let date = HubJSON.parse(from) else { throw CLIError("--from \(from) is not an ISO-8601 time such as 2026-03-28T00:00:00Z") }
                start = date
            }
            let schedule: Schedule
            do {
                schedule = try Schedule.parse(expression, timeZone: tz)
            } catch {
                throw CLIError("\(error)")
            }
            let next = schedule.nextElapses(after: start, count: count)
            if json {
                return try Output.json(
                    SchedulePreview(calendar: schedule.calendar, timeZone: schedule.timeZone, onCalendar: schedule.onCalendarLine, next: next))
            }
            print("OnCalendar=\(schedule.onCalendarLine)")
            let zone = TimeZone(identifier: schedule.timeZone) ?? .gmt
            let formatter = DateFormatter()
            formatter.timeZone = zone
            formatter.locale = Locale(identifier: "en_US_POSIX")
            formatter.dateFormat = "EEE yyyy-MM-dd HH:mm:ss zzz"
            for date in next { print("  \(formatter.string(from: date))   (\(HubJSON.format(date)))") }
            if next.isEmpty { print("  (never elapses again)") }
        }
    }
}
