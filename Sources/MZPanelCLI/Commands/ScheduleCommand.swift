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
        @Option(name: .long, help: "A backup window, HH:MM-HH:MM in the schedule's time zone: starts outside it wait for it.")
        var window: String?
        @Option(name: .long, help: "A spread such as 30m: each start moves by the job's stable offset.") var spread: String?
        @Option(name: .long, help: "The job id whose spread offset to use (default: the id \"new-job\").") var job: String?
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
            let plan: StartPlan
            do {
                plan = StartPlan(
                    jobID: try SchedulePreview.jobReference(job), timeZone: schedule.timeZone,
                    window: try window.flatMap { try Job.validatedWindow($0, field: "--window") },
                    spreadSeconds: try spread.flatMap { try ScheduleSpread.parse($0, field: "--spread") })
            } catch let error as DomainError {
                throw CLIError("\(error.field.map { $0 + ": " } ?? "")\(error.message)")
            }
            let preview = SchedulePreview(schedule, plan: plan, after: start, count: count)
            let next = preview.next
            if json { return try Output.json(preview) }
            print("OnCalendar=\(schedule.onCalendarLine)")
            if let summary = preview.plan { print("Starts shifted: \(summary)") }
            let zone = TimeZone(identifier: schedule.timeZone) ?? .gmt
            let formatter = DateFormatter()
            formatter.timeZone = zone
            formatter.locale = Locale(identifier: "en_US_POSIX")
            formatter.dateFormat = "EEE yyyy-MM-dd HH:mm:ss zzz"
            for (index, date) in next.enumerated() {
                let slot = preview.slots?[index]
                let note = slot.map { $0 == date ? "" : "   slot \(formatter.string(from: $0))" } ?? ""
                print("  \(formatter.string(from: date))   (\(HubJSON.format(date)))" + note)
            }
            if next.isEmpty { print("  (never elapses again)") }
        }
    }
}
