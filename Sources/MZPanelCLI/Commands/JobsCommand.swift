import ArgumentParser
import BackupCore
import Foundation
import HubAPI
import Sealing

struct JobsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "jobs", abstract: "List, add, show, edit and remove backup jobs.",
        subcommands: [
            List.self, Add.self, Show.self, Edit.self, Remove.self, JobsRunCommand.self, JobsDrillCommand.self, JobsCopyCommand.self, SignJob.self,
        ],
        defaultSubcommand: List.self
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "List jobs.")
        @Option(name: .long, help: "Only this server's jobs (id or name).") var server: String?
        @Option(name: .long, help: "Only jobs writing to this destination (id or name).") var destination: String?
        @Option(name: .long, help: "Page size (1–500, default 50).") var limit: Int?
        @Option(name: .long, help: "Continue after this cursor (printed under the previous page).") var cursor: String?
        @OptionGroup var options: ClientOptions

        func run() async throws {
            let data = try await options.client().raw(
                "GET", "/api/v1/jobs",
                query: [
                    "server": server, "destination": destination, "limit": limit.map(String.init), "cursor": cursor,
                ])
            if options.json { return Output.json(data) }
            let list = try HubDecoding.decode(JobList.self, data)
            if list.jobs.isEmpty {
                return print("No jobs yet. Add one with: mzpanel jobs add NAME --server S --kind full --path DIR --schedule daily --destination D")
            }
            Output.table(["NAME", "ID", "SERVER", "KIND", "SCHEDULE", "NEXT RUN", "HEALTH"], JobsCommand.rows(list))
            Output.nextPage(list.nextCursor)
        }
    }

    /// The jobs table: servers by name (ids stay in `--json`).
    static func rows(_ list: JobList) -> [[String]] {
        list.jobs.map {
            [
                $0.job.name, $0.job.id, $0.serverName ?? $0.job.serverID, $0.job.kind.rawValue, $0.onCalendar, Output.date($0.nextRunAt),
                $0.health?.rawValue ?? "-",
            ]
        }
    }

    /// The options that describe a job, shared by add and edit.
    struct JobOptions: ParsableArguments {
        @Option(
            name: .long,
            help:
                "full (paths and databases), database (databases only), check (verify this server's repositories at the destinations) or hub (the hub's own state, on a server that ran mzpanel-agent hub-backup enable)."
        )
        var kind: String?
        @Option(name: .long, help: "Check jobs: read the data in this many parts, one part per run (1 = all data every run; default 10).")
        var checkSubsets: Int?
        @Option(
            name: .customLong("ping-url"),
            help: "A healthchecks-style URL the agent pings at each run (/start, then the URL or /fail); \"\" removes it.")
        var pingURL: String?
        @Option(
            name: .long,
            help: "A Docker Compose project to back up as a whole: its directory, named volumes and database dumps (docs/stacks.md).")
        var stack: String?
        @Option(name: .long, help: "With --stack: a service to stop while the volumes are copied (repeatable).") var stop: [String] = []
        @Option(name: .customLong("exclude-volume"), help: "With --stack: a volume to leave out, by its compose name (repeatable).")
        var excludeVolume: [String] = []
        @Option(
            name: .customLong("include-bind"),
            help: "With --stack: the host path of a bind mount outside the project directory to take too (repeatable).")
        var includeBind: [String] = []
        @Option(name: .long, help: "A path to back up (repeatable).") var path: [String] = []
        @Option(name: .long, help: "A glob to exclude (repeatable).") var exclude: [String] = []
        @Option(name: .long, help: "A database, ENGINE:NAME[@CONNECTION] (repeatable), e.g. postgresql:shop@localhost:5432.") var database: [String] =
            []
        @Option(name: .long, help: "When: a preset (hourly, daily 02:30, weekly sun 03:00…), a 5-field cron line or a systemd OnCalendar expression.")
        var schedule: String?
        @Option(name: .long, help: "IANA time zone for the schedule, e.g. Europe/Berlin (default UTC).") var tz: String?
        @Option(name: .long, help: "Keep the last N snapshots; N@DEST for one destination only (repeatable, e.g. --keep-last 3@s3-eu).")
        var keepLast: [String] = []
        @Option(name: .long, help: "Keep N hourly snapshots (N or N@DEST).") var keepHourly: [String] = []
        @Option(name: .long, help: "Keep N daily snapshots (N or N@DEST, e.g. --keep-daily 7@local).") var keepDaily: [String] = []
        @Option(name: .long, help: "Keep N weekly snapshots (N or N@DEST).") var keepWeekly: [String] = []
        @Option(name: .long, help: "Keep N monthly snapshots (N or N@DEST, e.g. --keep-monthly 12@s3-eu).") var keepMonthly: [String] = []
        @Option(name: .long, help: "Keep N yearly snapshots (N or N@DEST).") var keepYearly: [String] = []
        @Option(name: .long, help: "Keep everything younger than this, e.g. 7d, 2w, 1y2m (or 7d@DEST).") var keepWithin: [String] = []
        @Flag(name: .long, help: "Keep every snapshot (no retention).") var keepAll = false
        @Option(name: .long, help: "A destination (id or name, repeatable).") var destination: [String] = []
        @Option(name: .long, help: "Mark the job stale (and alert) when no snapshot is newer than this, e.g. 26h, 3d, 2w; 0 turns it off.")
        var staleAfter: String?
        @Option(name: .long, help: "A shell command the agent runs (/bin/sh -c) before each backup; \"\" removes it.") var before: String?
        @Option(name: .long, help: "A command run after a backup in which every copy succeeded; \"\" removes it.") var after: String?
        @Option(name: .customLong("on-failure"), help: "A command run after a failed or partial backup; \"\" removes it.") var onFailure: String?
        @Option(name: .long, help: "A command run after every run, whatever happened; \"\" removes it.") var finally: String?
        @Option(
            name: .customLong("before-policy"),
            help: "When the before hook fails: cancel (no backup, run cancelled, no alert), fail (no backup, run fails; the default) or ignore.")
        var beforePolicy: String?
        @Option(name: .customLong("hook-timeout"), help: "How long each hook may run, e.g. 90s, 10m, 1h (default 5m).") var hookTimeout: String?

        var touchesHooks: Bool {
            before != nil || after != nil || onFailure != nil || finally != nil || beforePolicy != nil || hookTimeout != nil
        }

        /// The job's hooks after these options (`current`: the job's hooks before an edit); nil when no hook option is given.
        func hooks(over current: JobHooks?) throws -> JobHooks? {
            guard touchesHooks else { return nil }
            var hooks = current ?? JobHooks()
            if let before { hooks.before = before }
            if let after { hooks.after = after }
            if let onFailure { hooks.onFailure = onFailure }
            if let finally { hooks.finally = finally }
            if let beforePolicy {
                do {
                    hooks.beforePolicy = beforePolicy.isEmpty ? nil : try HookFailurePolicy.parse(beforePolicy)
                } catch {
                    throw CLIError("--before-policy: \(error.message)")
                }
            }
            if let hookTimeout { hooks.timeoutSeconds = try Self.seconds(hookTimeout, option: "--hook-timeout") }
            // What the hub will store: an empty command is no command.
            for path in [\JobHooks.before, \.after, \.onFailure, \.finally]
            where hooks[keyPath: path]?.trimmingCharacters(in: .whitespacesAndNewlines) == "" {
                hooks[keyPath: path] = nil
            }
            if hooks.before == nil && before != nil && beforePolicy == nil { hooks.beforePolicy = nil }
            if hooks.isEmpty && hookTimeout == nil { hooks.timeoutSeconds = nil }
            return hooks
        }

        /// `90s`, `10m`, `1h` or a number of seconds.
        static func seconds(_ text: String, option: String) throws -> Int {
            let trimmed = text.trimmingCharacters(in: .whitespaces).lowercased()
            let units: [Character: Int] = ["s": 1, "m": 60, "h": 3600]
            if let value = Int(trimmed), value > 0 { return value }
            guard let unit = trimmed.last.flatMap({ units[$0] }), let count = Int(trimmed.dropLast()), count > 0 else {
                throw CLIError("\(option) \"\(text)\" should be a count and a unit (s, m or h), e.g. 90s or 10m")
            }
            return count * unit
        }
        @Option(name: .long, help: "Scheduled restore drills: daily, weekly or off (docs/operations.md, Restore drills).") var drill: String?
        @Option(name: .customLong("drill-sample"), help: "What each drill restores: a number of files (50) or a share of the bytes (2%).")
        var drillSample: String?
        @Option(
            name: .customLong("drill-sql"),
            help:
                "An SQL assertion each drill runs on every database it loads, e.g. \"SELECT count(*) FROM orders >= 10\" (repeatable; replaces the list)."
        )
        var drillSQL: [String] = []
        @Option(
            name: .long,
            help: "Hours scheduled runs may start, HH:MM-HH:MM in the schedule's time zone (e.g. 01:00-05:00; off removes it). Run now is not held."
        )
        var window: String?
        @Option(name: .long, help: "Spread scheduled starts by a stable offset up to this long, derived from the job id (e.g. 30m; off removes it).")
        var spread: String?

        /// `--stale-after` in seconds (0 = off).
        var staleAfterSeconds: Int? {
            get throws {
                guard let text = staleAfter?.trimmingCharacters(in: .whitespaces) else { return nil }
                if text == "0" { return 0 }
                let units: [Character: Int] = ["m": 60, "h": 3600, "d": 86_400, "w": 604_800]
                guard let unit = text.last.flatMap({ units[$0] }), let count = Int(text.dropLast()), count > 0 else {
                    throw CLIError("--stale-after \"\(text)\" should be a count and a unit (m, h, d or w), e.g. 26h or 3d; 0 turns it off")
                }
                return count * unit
            }
        }

        var sources: JobSources? {
            get throws {
                if path.isEmpty && exclude.isEmpty && database.isEmpty && stack == nil { return nil }
                if stack == nil && !(stop.isEmpty && excludeVolume.isEmpty && includeBind.isEmpty) {
                    throw CLIError("--stop, --exclude-volume and --include-bind belong to a stack job: add --stack PROJECT")
                }
                do {
                    return JobSources(
                        paths: path, excludes: exclude, databases: try database.map(DatabaseSource.parse),
                        stack: stack.map { StackSource(project: $0, stop: stop, excludeVolumes: excludeVolume, includeBinds: includeBind) })
                } catch {
                    throw CLIError("--database: \(error.message)")
                }
            }
        }

        /// The job's retention (plain values) and each destination's own (values with `@DEST`, one
        /// policy per destination named); nil where no such option is given.
        var retentionRules: (job: RetentionPolicy?, destinations: [DestinationRetention]?) {
            get throws {
                var job = RetentionPolicy(keepAll: keepAll)
                var destinations: [DestinationRetention] = []
                func apply(_ value: String, option: String, _ set: (inout RetentionPolicy, String) throws -> Void) throws {
                    let parts = value.split(separator: "@", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
                    if parts.count == 2 && parts[1].trimmingCharacters(in: .whitespaces).isEmpty {
                        throw CLIError("\(option) \(value): name the destination after @, e.g. \(parts[0])@local")
                    }
                    guard parts.count == 2 else { return try set(&job, parts[0]) }
                    let name = parts[1].trimmingCharacters(in: .whitespaces)
                    if let index = destinations.firstIndex(where: { $0.destination == name }) {
                        try set(&destinations[index].retention, parts[0])
                    } else {
                        var policy = RetentionPolicy()
                        try set(&policy, parts[0])
                        destinations.append(DestinationRetention(destination: name, retention: policy))
                    }
                }
                let counts: [(String, [String], WritableKeyPath<RetentionPolicy, Int?>)] = [
                    ("--keep-last", keepLast, \.keepLast), ("--keep-hourly", keepHourly, \.keepHourly), ("--keep-daily", keepDaily, \.keepDaily),
                    ("--keep-weekly", keepWeekly, \.keepWeekly), ("--keep-monthly", keepMonthly, \.keepMonthly),
                    ("--keep-yearly", keepYearly, \.keepYearly),
                ]
                for (option, values, path) in counts {
                    for value in values {
                        try apply(value, option: option) { policy, count in
                            guard let number = Int(count.trimmingCharacters(in: .whitespaces)) else {
                                throw CLIError("\(option) \(value): \"\(count)\" is not a whole number; give N or N@DESTINATION, e.g. 7 or 7@local")
                            }
                            policy[keyPath: path] = number
                        }
                    }
                }
                for value in keepWithin {
                    try apply(value, option: "--keep-within") { policy, duration in policy.keepWithin = duration }
                }
                return (job == RetentionPolicy() ? nil : job, destinations.isEmpty ? nil : destinations)
            }
        }

        var retention: RetentionPolicy? { get throws { try retentionRules.job } }
    }

    static func describe(_ info: JobView) {
        let job = info.job
        var pairs: [(String, String)] = [
            ("Name", job.name), ("ID", job.id), ("Server", info.serverName.map { "\($0) (\(job.serverID))" } ?? job.serverID),
            ("Kind", job.kind.rawValue),
            ("Schedule", info.onCalendar), ("Next run", job.enabled ? Output.date(info.nextRunAt) : "disabled"),
            ("Retention", info.retentionSummary), ("Destinations", job.destinationIDs.joined(separator: ", ")),
        ]
        for rule in job.destinationRetention ?? [] { pairs.append(("Retention at \(rule.destination)", rule.retention.summary)) }
        pairs.append(("Health", info.health?.rawValue ?? "-"))
        if let staleAfter = job.staleAfter { pairs.append(("Stale after", "\(staleAfter / 3600) h")) }
        if job.pingURL != nil { pairs.append(("Pings", "on (start, success, fail)")) }
        if let hooks = job.hooks {
            for (name, command) in hooks.commands { pairs.append(("Hook \(name)", command.replacingOccurrences(of: "\n", with: " ⏎ "))) }
            if hooks.before != nil { pairs.append(("Before fails", hooks.policy.rawValue)) }
            pairs.append(("Hook timeout", "\(hooks.timeout) s"))
        }
        if let drill = job.drill {
            pairs.append(
                (
                    "Drills",
                    "\(drill.frequency.rawValue), sample \(drill.sample.text)"
                        + (drill.assertions.isEmpty ? "" : ", \(drill.assertions.count) SQL assertions")
                ))
        }
        if let drill = info.lastDrill {
            pairs.append(("Last drill", "\(drill.status.rawValue), \(Output.date(drill.createdAt)) (\(drill.id))"))
        }
        if job.drill != nil || info.lastDrill != nil {
            pairs.append(("Proven restorable", info.provenAt.map { Output.date($0) } ?? "never (no drill passed yet)"))
        }
        if let window = job.window {
            pairs.append(("Window", "\(window.text) \(job.schedule.timeZone) (scheduled runs wait for it; run now does not)"))
        }
        if let spread = job.spreadSeconds {
            pairs.append(
                (
                    "Spread",
                    "\(ScheduleSpread.text(spread)) (this job starts \(ScheduleSpread.offset(jobID: job.id, seconds: spread)) s after each slot)"
                ))
        }
        if let subsets = job.checkSubsets { pairs.append(("Check", "reads 1/\(subsets) of the data per run; all of it every \(subsets) runs")) }
        if !job.sources.paths.isEmpty { pairs.append(("Paths", job.sources.paths.joined(separator: " "))) }
        if !job.sources.excludes.isEmpty { pairs.append(("Excludes", job.sources.excludes.joined(separator: " "))) }
        if let stack = job.sources.stack {
            pairs.append(
                (
                    "Stack",
                    stack.project + (stack.stop.isEmpty ? "" : " (stops \(stack.stop.joined(separator: ", ")))")
                        + (stack.excludeVolumes.isEmpty ? "" : " (without volumes \(stack.excludeVolumes.joined(separator: ", ")))")
                        + (stack.includeBinds.isEmpty ? "" : " (with bind mounts \(stack.includeBinds.joined(separator: ", ")))")
                ))
        }
        for database in job.sources.databases {
            pairs.append(("Database", "\(database.engine.rawValue):\(database.name)" + (database.connection.map { "@" + $0 } ?? "")))
        }
        Output.fields(pairs)
    }

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "add", abstract: "Add a job to a server.")
        @Argument(help: "The job's name (unique on its server).") var name: String
        @Option(name: .long, help: "The server (id or name).") var server: String
        @Option(
            name: .long,
            help:
                "Site preset: this web root with its caches excluded (plus any --database); implies --kind full. With --stack: the web service, whose volumes are kept with the databases, the other services' volumes left out."
        )
        var site: String?
        @OptionGroup var job: JobOptions
        @Flag(name: .long, help: "Create the job disabled.") var disabled = false
        @OptionGroup var vault: VaultOptions
        @OptionGroup var options: ClientOptions

        func run() async throws {
            var sources = try job.sources ?? JobSources()
            let client = try options.client()
            var siteNote: String?
            if let site, var stack = sources.stack {
                let report = try HubDecoding.decode(
                    StackReport.self, try await client.raw("GET", "/api/v1/servers/\(server.pathSegment)/stacks"))
                guard let found = report.stacks.first(where: { $0.project == stack.project.trimmingCharacters(in: .whitespaces) }) else {
                    throw CLIError(
                        "--site: the agent of \(server) has not reported a stack \(stack.project); see mzpanel servers stacks \(server) --refresh")
                }
                do {
                    let excludes = try SitePreset.stackExcludes(found, web: site)
                    stack.excludeVolumes += excludes.filter { !stack.excludeVolumes.contains($0) }
                    sources.stack = stack
                    siteNote =
                        "Site preset: service \(site) with the databases"
                        + (excludes.isEmpty ? "." : "; volumes left out: \(excludes.joined(separator: ", ")).")
                } catch {
                    throw CLIError("--site: \(error.message)")
                }
            } else if let site {
                if let kind = job.kind, kind != JobKind.full.rawValue {
                    throw CLIError("--site backs up files and databases: use it with --kind full or without --kind")
                }
                do {
                    let preset = try SitePreset.sources(root: site, databases: sources.databases)
                    sources = JobSources(
                        paths: preset.paths + sources.paths, excludes: preset.excludes + sources.excludes, databases: sources.databases,
                        stack: sources.stack)
                } catch {
                    throw CLIError("--site: \(error.message)")
                }
            }
            guard let kind = job.kind ?? (site != nil || job.stack != nil ? JobKind.full.rawValue : nil) else {
                throw CLIError("--kind is required: full (paths and databases) or database (databases only), or use --site DIR")
            }
            guard let schedule = job.schedule else { throw CLIError("--schedule is required, e.g. --schedule daily or --schedule \"daily 02:30\"") }
            guard !job.destination.isEmpty else {
                throw CLIError("--destination is required (repeat it for more copies); see mzpanel destinations list")
            }
            let body = JobRequest(
                name: name, server: server, kind: kind, sources: sources, schedule: schedule, timeZone: job.tz,
                retention: try job.retention, destinations: job.destination, enabled: !disabled,
                staleAfter: try job.staleAfterSeconds, checkSubsets: job.checkSubsets, pingURL: job.pingURL, hooks: try job.hooks(over: nil),
                destinationRetention: try job.retentionRules.destinations, drill: job.drill, drillSample: job.drillSample,
                drillAssertions: job.drillSQL.isEmpty ? nil : job.drillSQL, window: job.window, spread: job.spread)
            let session = VaultSession(client: client, options: vault)
            try await session.requireSigner(for: "job")
            let data = try await client.raw("POST", "/api/v1/jobs", body: body)
            let info = try HubDecoding.decode(JobView.self, data)
            let sealing = try await JobSealing.sealMissing(job: info.job, client: client, session: session)
            let signing = try await session.signAfterChange(info.job, intent: JobIntent(body))
            if options.json { return Output.json(data) }
            print("Added job \(info.job.name) (\(info.job.id)).")
            if let siteNote { print(siteNote) }
            (sealing + signing).forEach { print($0) }
            JobsCommand.describe(info)
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "show", abstract: "Show a job.")
        @Argument(help: "Job id or name.") var job: String
        @Option(name: .long, help: "The job's server, when several servers have a job of that name.") var server: String?
        @OptionGroup var options: ClientOptions

        func run() async throws {
            let data = try await options.client().raw("GET", "/api/v1/jobs/\(job.pathSegment)", query: ["server": server])
            if options.json { return Output.json(data) }
            JobsCommand.describe(try HubDecoding.decode(JobView.self, data))
        }
    }

    struct Edit: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "edit", abstract: "Change a job. Given list options (--path, --exclude, --database, --destination) replace the whole list."
        )
        @Argument(help: "Job id or name.") var job: String
        @Option(name: .long, help: "The job's server, when several servers have a job of that name.") var server: String?
        @Option(name: .long, help: "A new name.") var name: String?
        @OptionGroup var changes: JobOptions
        @Flag(name: .customLong("enable"), help: "Enable the job.") var enableJob = false
        @Flag(name: .customLong("disable"), help: "Disable the job (its timers stop; history stays).") var disableJob = false
        @Flag(
            name: .customLong("dry-run"),
            help: "With --keep-… options: show which existing snapshots the new retention would remove at each destination; change nothing.")
        var dryRun = false
        @OptionGroup var vault: VaultOptions
        @OptionGroup var options: ClientOptions

        func run() async throws {
            if dryRun { return try await preview() }
            if enableJob && disableJob { throw CLIError("--enable and --disable contradict each other; give one") }
            let enable: Bool? = enableJob ? true : disableJob ? false : nil
            let client = try options.client()
            let session = VaultSession(client: client, options: vault)
            // Hook options change single hooks: the others are kept from the job as the hub holds it.
            var hooks: JobHooks?
            if changes.touchesHooks {
                let current = try await client.send("GET", "/api/v1/jobs/\(job.pathSegment)", query: ["server": server], as: JobView.self).job
                hooks = try changes.hooks(over: current.hooks)
            }
            var intended = JobUpdate(
                name: name, kind: changes.kind, sources: try changes.sources, schedule: changes.schedule, timeZone: changes.tz,
                retention: try changes.retention, destinations: changes.destination.isEmpty ? nil : changes.destination, enabled: enable,
                staleAfter: try changes.staleAfterSeconds, checkSubsets: changes.checkSubsets, pingURL: changes.pingURL, hooks: hooks,
                destinationRetention: try changes.retentionRules.destinations, drill: changes.drill, drillSample: changes.drillSample,
                drillAssertions: changes.drillSQL.isEmpty ? nil : changes.drillSQL, window: changes.window, spread: changes.spread)
            // In trust mode the change travels with its signature: agents never see it unsigned.
            var signedBy: String?
            if intended.touchesManifest {
                try await session.requireSigner(for: "job")
                if let signer = try await session.signer() {
                    let current = try await client.send("GET", "/api/v1/jobs/\(job.pathSegment)", query: ["server": server], as: JobView.self).job
                    intended = intended.with(manifest: try await signer.manifest(of: current, after: JobIntent(intended)))
                    signedBy = signer.vault.signingKey.fingerprint
                }
            }
            let data = try await client.raw("PATCH", "/api/v1/jobs/\(job.pathSegment)", query: ["server": server], body: intended)
            let info = try HubDecoding.decode(JobView.self, data)
            let sealing = changes.destination.isEmpty ? [] : try await JobSealing.sealMissing(job: info.job, client: client, session: session)
            var signing: [String] = []
            if let signedBy {
                signing = ["Signed job \(info.job.name) with the account key \(signedBy)."] + (try await session.destinationNotes(info.job))
            }
            if options.json { return Output.json(data) }
            print("Updated job \(job).")
            (sealing + signing).forEach { print($0) }
            JobsCommand.describe(info)
        }

        /// `--dry-run`: the retention preview of the hub (`POST /jobs/{job}/retention-preview`); nothing changes.
        func preview() async throws {
            let rules = try changes.retentionRules
            guard rules.job != nil || rules.destinations != nil else {
                throw CLIError("--dry-run previews a retention change: give the new --keep-… options (e.g. --keep-daily 3 or --keep-daily 3@local)")
            }
            let sources = try changes.sources
            let others =
                name != nil || changes.kind != nil || sources != nil || changes.schedule != nil || changes.tz != nil
                || !changes.destination.isEmpty || enableJob || disableJob || changes.staleAfter != nil || changes.checkSubsets != nil
                || changes.pingURL != nil || changes.touchesHooks
            if others { throw CLIError("--dry-run previews only the retention: give only --keep-… options with it") }
            let data = try await options.client().raw(
                "POST", "/api/v1/jobs/\(job.pathSegment)/retention-preview", query: ["server": server],
                body: RetentionPreviewRequest(retention: rules.job, destinationRetention: rules.destinations))
            if options.json { return Output.json(data) }
            let preview = try HubDecoding.decode(RetentionPreview.self, data)
            print("Dry run: nothing was changed (days counted in \(preview.timeZone)).")
            for destination in preview.destinations {
                guard destination.applied else {
                    print("\n\(destination.destinationName): retention is not applied (peer destinations are append-only)")
                    continue
                }
                print(
                    "\n\(destination.destinationName) (\(destination.summary)): keeps \(destination.keep.count), removes \(destination.remove.count)")
                let all = (destination.remove + destination.keep).sorted { $0.createdAt > $1.createdAt }
                if !all.isEmpty {
                    Output.table(
                        ["", "TAKEN", "SNAPSHOT", "KEPT AS"],
                        all.map {
                            [$0.reasons.isEmpty ? "remove" : "keep", Output.date($0.createdAt), $0.snapshotID, $0.reasons.joined(separator: ", ")]
                        })
                }
            }
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rm", abstract: "Remove a job (its runs and snapshots stay listed; stored backups are not deleted).")
        @Argument(help: "Job id or name.") var job: String
        @Option(name: .long, help: "The job's server, when several servers have a job of that name.") var server: String?
        @Flag(name: .long, help: "Do not ask for confirmation.") var yes = false
        @OptionGroup var options: ClientOptions

        func run() async throws {
            try Confirmation.require("Remove job \(job)?", yes: yes)
            let data = try await options.client().raw("DELETE", "/api/v1/jobs/\(job.pathSegment)", query: ["server": server])
            if options.json { return Output.json(data) }
            print("Removed job \(job).")
        }
    }
}
