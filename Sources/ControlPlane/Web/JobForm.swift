import BackupCore
import Foundation
import HubAPI
import Hummingbird
import Store

/// The add/edit job form: what the user typed, the choices, and errors next to their fields.
struct JobForm {
    struct Values {
        var name = ""
        var server = ""
        var kind = "full"
        var paths = ""
        var excludes = ""
        var databases = ""
        /// A Docker Compose project backed up as a whole, the services stopped for its volume copy and the volumes left out (one a line).
        var stack = "", stackStop = "", stackExcludeVolumes = "", stackIncludeBinds = ""
        var schedule = "daily"
        var timeZone = "UTC"
        var keepLast = "", keepHourly = "", keepDaily = "7", keepWeekly = "4", keepMonthly = "", keepYearly = ""
        /// Each destination's own retention, as the CLI writes it: `--keep-daily 7@nas --keep-monthly 12@s3-eu`.
        var destinationRetention = ""
        var destinations: Set<String> = []
        var enabled = true
        /// Hours without a new snapshot before the job is stale (empty: no such rule).
        var staleHours = ""
        /// Check jobs: how many parts the data is read in.
        var checkSubsets = ""
        var pingURL = ""
        /// Hook commands (docs/operations.md, "Hooks"), what a failing before hook does, the timeout in seconds.
        var hookBefore = "", hookAfter = "", hookOnFailure = "", hookFinally = "", hookPolicy = "fail", hookTimeout = ""
        /// Scheduled restore drills (`off`, `daily`, `weekly`) and their sample (`50` or `2%`; empty: 20 files).
        var drill = "off"
        var drillSample = ""
        /// The backup window (`01:00-05:00`) and spread (`30m`); empty: none.
        var window = ""
        var spread = ""
    }
    struct Option {
        let value: String
        let label: String
        let selected: Bool
    }
    struct Check {
        let value: String
        let label: String
        let checked: Bool
        let kind: String
    }
    /// One destination of a retention preview, for the template.
    struct PreviewDestination {
        let name: String
        let summary: String
        let note: String
        let removed: [String]
        let removes: Bool

        init(_ destination: RetentionPreviewDestination) {
            name = destination.destinationName
            summary = destination.summary
            note =
                destination.applied
                ? "keeps \(destination.keep.count), removes \(destination.remove.count)" : "retention is not applied (append-only peer destination)"
            removed = destination.remove.map { "\($0.createdAt.formatted(.iso8601)) (\($0.snapshotID))" }
            removes = !removed.isEmpty
        }
    }
    struct FieldError {
        let field: String
        let message: String
    }

    struct Model {
        let layout: Layout
        let editing: Bool
        let action: String
        let jobID: String?
        let values: Values
        let servers: [Option]
        let destinations: [Check]
        let presets: [String]
        let isFull: Bool
        let hasDestinations: Bool
        // One message per field (nil when that field is fine), stored for the template.
        let nameError, serverError, kindError, sourcesError, scheduleError, timeZoneError, retentionError, destinationsError, staleError,
            checkSubsetsError, pingURLError, hooksError, drillError, destinationRetentionError, windowError, spreadError, generalError: String?
        let hookPolicies: [Option]
        let drillChoices: [Option]
        let isDatabase: Bool
        let isCheck: Bool
        let isPrune: Bool
        let isHub: Bool
        /// What the retention in the form would remove, per destination (after "Preview"; empty otherwise).
        var retentionPreview: [PreviewDestination] = []
        var hasRetentionPreview = false

        init(
            layout: Layout, editing: Bool, action: String, jobID: String?, values: Values, servers: [Option], destinations: [Check],
            error: FieldError?
        ) {
            self.layout = layout
            self.editing = editing
            self.action = action
            self.jobID = jobID
            self.values = values
            self.servers = servers
            self.destinations = destinations
            presets = JobForm.presets
            isFull = !["database", "check", "hub", "prune"].contains(values.kind)
            isHub = values.kind == "hub"
            isDatabase = values.kind == "database"
            isCheck = values.kind == "check"
            isPrune = values.kind == "prune"
            hasDestinations = !destinations.isEmpty
            func message(_ field: String) -> String? {
                guard let error, error.field == field || error.field.hasPrefix(field + ".") || error.field.hasPrefix(field + "[") else { return nil }
                return error.message
            }
            nameError = message("name")
            serverError = message("server")
            kindError = message("kind")
            sourcesError = message("sources")
            scheduleError = message("schedule")
            timeZoneError = message("timeZone")
            retentionError = message("retention")
            destinationsError = message("destinations")
            staleError = message("staleAfter")
            checkSubsetsError = message("checkSubsets")
            pingURLError = message("pingURL")
            hooksError = message("hooks")
            hookPolicies = [
                ("fail", "fail: no backup, the run fails and alerts"), ("cancel", "cancel: no backup, the run is cancelled, no alert"),
                ("ignore", "ignore: back up anyway"),
            ].map { Option(value: $0.0, label: $0.1, selected: values.hookPolicy == $0.0) }
            drillError = message("drill") ?? message("drillSample") ?? message("drillAssertions")
            destinationRetentionError = message("destinationRetention")
            windowError = message("window")
            spreadError = message("spread")
            drillChoices = [("off", "Off (on demand only)"), ("daily", "Daily"), ("weekly", "Weekly")].map {
                Option(value: $0.0, label: $0.1, selected: $0.0 == values.drill)
            }
            let placed = [
                nameError, serverError, kindError, sourcesError, scheduleError, timeZoneError, retentionError, destinationsError, staleError,
                checkSubsetsError, pingURLError, hooksError, drillError, destinationRetentionError, windowError, spreadError,
            ].contains { $0 != nil }
            generalError = placed ? nil : error?.message
        }
    }

    static let presets = ["hourly", "daily", "daily 02:30", "weekly", "monthly", "*/15 * * * *", "Mon..Fri *-*-* 02:30"]

    static func values(from form: FormData) -> Values {
        var values = Values()
        values.name = form["name"] ?? ""
        values.server = form["server"] ?? ""
        values.kind = form["kind"] ?? "full"
        values.paths = form.lines("paths").joined(separator: "\n")
        values.excludes = form.lines("excludes").joined(separator: "\n")
        values.databases = form.lines("databases").joined(separator: "\n")
        values.stack = form["stack"] ?? ""
        values.stackStop = form.lines("stackStop").joined(separator: "\n")
        values.stackExcludeVolumes = form.lines("stackExcludeVolumes").joined(separator: "\n")
        values.stackIncludeBinds = form.lines("stackIncludeBinds").joined(separator: "\n")
        values.schedule = form["schedule"] ?? ""
        values.timeZone = form["timeZone"] ?? "UTC"
        values.keepLast = form["keepLast"] ?? ""
        values.keepHourly = form["keepHourly"] ?? ""
        values.keepDaily = form["keepDaily"] ?? ""
        values.keepWeekly = form["keepWeekly"] ?? ""
        values.keepMonthly = form["keepMonthly"] ?? ""
        values.keepYearly = form["keepYearly"] ?? ""
        values.destinationRetention = form["destinationRetention"] ?? ""
        values.destinations = Set(form.all("destinations"))
        values.enabled = form.has("enabled")
        values.staleHours = form["staleHours"] ?? ""
        values.checkSubsets = form["checkSubsets"] ?? ""
        values.pingURL = form["pingURL"] ?? ""
        values.hookBefore = form["hookBefore"] ?? ""
        values.hookAfter = form["hookAfter"] ?? ""
        values.hookOnFailure = form["hookOnFailure"] ?? ""
        values.hookFinally = form["hookFinally"] ?? ""
        values.hookPolicy = form["hookPolicy"] ?? "fail"
        values.hookTimeout = form["hookTimeout"] ?? ""
        values.drill = form["drill"] ?? "off"
        values.drillSample = form["drillSample"] ?? ""
        values.window = form["window"] ?? ""
        values.spread = form["spread"] ?? ""
        return values
    }

    static func values(of job: Job) -> Values {
        var values = Values()
        values.name = job.name
        values.server = job.serverID
        values.kind = job.kind.rawValue
        values.paths = job.sources.paths.joined(separator: "\n")
        values.excludes = job.sources.excludes.joined(separator: "\n")
        values.databases = job.sources.databases.map {
            [$0.engine.rawValue, $0.name].joined(separator: ":") + ($0.connection.map { "@" + $0 } ?? "")
        }.joined(separator: "\n")
        values.stack = job.sources.stack?.project ?? ""
        values.stackStop = job.sources.stack?.stop.joined(separator: "\n") ?? ""
        values.stackExcludeVolumes = job.sources.stack?.excludeVolumes.joined(separator: "\n") ?? ""
        values.stackIncludeBinds = job.sources.stack?.includeBinds.joined(separator: "\n") ?? ""
        values.schedule = job.schedule.calendar
        values.timeZone = job.schedule.timeZone
        let r = job.retention
        values.keepLast = r.keepLast.map(String.init) ?? ""
        values.keepHourly = r.keepHourly.map(String.init) ?? ""
        values.keepDaily = r.keepDaily.map(String.init) ?? ""
        values.keepWeekly = r.keepWeekly.map(String.init) ?? ""
        values.keepMonthly = r.keepMonthly.map(String.init) ?? ""
        values.keepYearly = r.keepYearly.map(String.init) ?? ""
        values.destinationRetention = destinationRetentionText(job.destinationRetention ?? [], names: [:])
        values.destinations = Set(job.destinationIDs)
        values.enabled = job.enabled
        values.checkSubsets = job.checkSubsets.map(String.init) ?? ""
        values.pingURL = job.pingURL ?? ""
        values.hookBefore = job.hooks?.before ?? ""
        values.hookAfter = job.hooks?.after ?? ""
        values.hookOnFailure = job.hooks?.onFailure ?? ""
        values.hookFinally = job.hooks?.finally ?? ""
        values.hookPolicy = job.hooks?.policy.rawValue ?? "fail"
        values.hookTimeout = job.hooks?.timeoutSeconds.map(String.init) ?? ""
        values.drill = job.drill?.frequency.rawValue ?? "off"
        values.drillSample = job.drill?.sample.text ?? ""
        values.window = job.window?.text ?? ""
        values.spread = job.spreadSeconds.map(ScheduleSpread.text) ?? ""
        values.staleHours = job.staleAfter.map { $0 % 3600 == 0 ? String($0 / 3600) : String(Double($0) / 3600) } ?? ""
        return values
    }

    /// The stale threshold in seconds as the API takes it (0 = off); a field error when it does not parse.
    static func staleAfter(_ values: Values) throws -> Int {
        let text = values.staleHours.trimmingSpaces
        guard !text.isEmpty else { return 0 }
        guard let hours = Double(text), hours > 0, hours.isFinite else {
            throw DomainError.invalid("staleAfter", "\"\(text)\" is not a number of hours; e.g. 26 for a daily job, or leave it empty")
        }
        return Int((hours * 3600).rounded())
    }

    /// The hooks as the API takes them (the hub validates the commands); a field error when the
    /// policy or timeout does not parse. The policy counts only with a before hook.
    static func hooks(_ values: Values) throws -> JobHooks {
        var hooks = JobHooks(before: values.hookBefore, after: values.hookAfter, onFailure: values.hookOnFailure, finally: values.hookFinally)
        if !values.hookBefore.trimmingSpaces.isEmpty, values.hookPolicy != "fail" {
            hooks.beforePolicy = try HookFailurePolicy.parse(values.hookPolicy)
        }
        let timeout = values.hookTimeout.trimmingSpaces
        if !timeout.isEmpty {
            guard let seconds = Int(timeout) else {
                throw DomainError.invalid("hooks.timeoutSeconds", "\"\(timeout)\" is not a whole number of seconds; e.g. 300, or leave it empty")
            }
            hooks.timeoutSeconds = seconds
        }
        return hooks
    }

    /// The drill setting as the API takes it: the frequency, and the sample only with drills on.
    static func drill(_ values: Values) -> (frequency: String, sample: String?) {
        let frequency = values.drill.trimmingSpaces.isEmpty ? "off" : values.drill
        let sample = values.drillSample.trimmingSpaces
        return (frequency, frequency == "off" || sample.isEmpty ? nil : sample)
    }

    /// The check rotation as the API takes it (nil when empty); a field error when it is not a number.
    static func checkSubsets(_ values: Values) throws -> Int? {
        let text = values.checkSubsets.trimmingSpaces
        guard !text.isEmpty else { return nil }
        guard let parts = Int(text) else { throw DomainError.invalid("checkSubsets", "\"\(text)\" is not a whole number of parts") }
        return parts
    }

    /// The `@destination` rules as the CLI writes them, one destination a line (names where known).
    static func destinationRetentionText(_ rules: [DestinationRetention], names: [String: String]) -> String {
        rules.map { rule in
            let name = names[rule.destination] ?? rule.destination
            let r = rule.retention
            let options: [(String, Int?)] = [
                ("last", r.keepLast), ("hourly", r.keepHourly), ("daily", r.keepDaily), ("weekly", r.keepWeekly), ("monthly", r.keepMonthly),
                ("yearly", r.keepYearly),
            ]
            return options.compactMap { option in option.1.map { "--keep-\(option.0) \($0)@\(name)" } }.joined(separator: " ")
        }.joined(separator: "\n")
    }

    /// Per-destination retention typed as the CLI takes it (`--keep-daily 7@nas --keep-monthly 12@s3-eu`; the
    /// dashes may be left out, spaces and lines are free): one rule per destination named, [] when empty
    /// (which removes the rules). Destinations are resolved and checked by the job service.
    static func destinationRetention(_ text: String) throws -> [DestinationRetention] {
        let words = text.split(whereSeparator: { $0.isWhitespace }).map(String.init)
        var rules: [DestinationRetention] = []
        var index = 0
        while index < words.count {
            let option = words[index].hasPrefix("--") ? String(words[index].dropFirst(2)) : words[index]
            let keys: [String: WritableKeyPath<RetentionPolicy, Int?>] = [
                "keep-last": \.keepLast, "keep-hourly": \.keepHourly, "keep-daily": \.keepDaily, "keep-weekly": \.keepWeekly,
                "keep-monthly": \.keepMonthly, "keep-yearly": \.keepYearly,
            ]
            guard let key = keys[option.lowercased()] else {
                throw DomainError.invalid(
                    "destinationRetention",
                    "\"\(words[index].prefix(40))\" is not a retention option; write e.g. --keep-daily 7@nas --keep-monthly 12@s3-eu (keep-last, -hourly, -daily, -weekly, -monthly, -yearly)"
                )
            }
            guard index + 1 < words.count else {
                throw DomainError.invalid("destinationRetention", "\(words[index]) needs a count and a destination, e.g. \(words[index]) 7@nas")
            }
            let value = words[index + 1]
            let parts = value.split(separator: "@", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
            guard parts.count == 2, !parts[1].isEmpty else {
                throw DomainError.invalid(
                    "destinationRetention", "\(words[index]) \(value.prefix(40)): name the destination after @, e.g. \(words[index]) \(parts[0])@nas")
            }
            guard let count = Int(parts[0]), count >= 0 else {
                throw DomainError.invalid(
                    "destinationRetention", "\(words[index]) \(value.prefix(40)): \"\(parts[0].prefix(20))\" is not a whole number")
            }
            if let existing = rules.firstIndex(where: { $0.destination == parts[1] }) {
                rules[existing].retention[keyPath: key] = count
            } else {
                var policy = RetentionPolicy()
                policy[keyPath: key] = count
                rules.append(DestinationRetention(destination: parts[1], retention: policy))
            }
            index += 2
        }
        return rules
    }

    /// The form's sources and retention as the API takes them; a field error when one does not parse.
    static func parts(_ values: Values) throws -> (JobSources, RetentionPolicy) {
        var databases: [DatabaseSource] = []
        for line in values.databases.split(whereSeparator: \.isNewline) {
            do {
                databases.append(try DatabaseSource.parse(String(line)))
            } catch {
                throw DomainError.invalid("sources.databases", error.message)
            }
        }
        func number(_ text: String, _ field: String) throws -> Int? {
            guard !text.isEmpty else { return nil }
            guard let value = Int(text) else { throw DomainError.invalid("retention.\(field)", "\"\(text)\" is not a whole number") }
            return value
        }
        let sources = JobSources(
            paths: values.paths.split(whereSeparator: \.isNewline).map(String.init),
            excludes: values.excludes.split(whereSeparator: \.isNewline).map(String.init), databases: databases,
            stack: values.stack.trimmingSpaces.isEmpty
                ? nil
                : StackSource(
                    project: values.stack, stop: values.stackStop.split(whereSeparator: \.isNewline).map(String.init),
                    excludeVolumes: values.stackExcludeVolumes.split(whereSeparator: \.isNewline).map(String.init),
                    includeBinds: values.stackIncludeBinds.split(whereSeparator: \.isNewline).map(String.init)))
        let retention = RetentionPolicy(
            keepLast: try number(values.keepLast, "keepLast"), keepHourly: try number(values.keepHourly, "keepHourly"),
            keepDaily: try number(values.keepDaily, "keepDaily"), keepWeekly: try number(values.keepWeekly, "keepWeekly"),
            keepMonthly: try number(values.keepMonthly, "keepMonthly"), keepYearly: try number(values.keepYearly, "keepYearly"))
        return (sources, retention)
    }

    static func model(_ values: Values, caller: PageCaller, servers: [Server], destinations: [Destination], job: Job?, error: FieldError?) -> Model {
        Model(
            layout: Layout(job.map { "Edit \($0.name)" } ?? "Add job", section: "jobs", caller: caller), editing: job != nil,
            action: job.map { "/backups/jobs/\($0.id)" } ?? "/backups/jobs", jobID: job?.id, values: values,
            servers: servers.sorted { $0.name < $1.name }.map {
                Option(value: $0.id, label: $0.name, selected: $0.id == values.server || $0.name == values.server)
            },
            destinations: destinations.map { Check(value: $0.id, label: $0.name, checked: values.destinations.contains($0.id), kind: $0.kind.title) },
            error: error)
    }

    /// An error from validation, placed at its field.
    static func fieldError(_ error: any Error) -> FieldError? {
        if let error = error as? DomainError { return FieldError(field: error.field ?? "", message: error.message) }
        if let error = error as? APIError { return FieldError(field: error.field ?? "", message: error.message) }
        return nil
    }
}
