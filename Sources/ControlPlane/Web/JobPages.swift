import BackupCore
import Foundation
import HubAPI
import Hummingbird
import Store

/// Jobs: the fleet list with filters, a job's page with charts and actions, the add/edit form.
struct JobPages {
    let pages: WebPages
    var jobs: JobService { JobService(hub: pages.hub) }

    struct ListModel {
        let layout: Layout
        let rows: [Row]
        let servers: [JobForm.Option]
        let destinations: [JobForm.Option]
        let healths: [JobForm.Option]
        let hasRows: Bool
        /// "Jobs 101–200 of 5,000" and the links around it, when the list needs more than one page.
        let range: String?
        let previous: String?
        let next: String?
    }
    static let rowsPerPage = 100
    struct Row {
        let id: String
        let name: String
        let server: String
        let health: String
        let healthLabel: String
        let schedule: String
        let retention: String
        let destinations: String
        let lastSnapshot: TimeView?
    }

    struct DetailModel {
        let layout: Layout
        let id: String
        let name: String
        let server: String
        let serverID: String
        let health: String
        let healthLabel: String
        let enabled: Bool
        let schedule: String
        let timeZone: String
        let nextRuns: [TimeView]
        let retention: String
        let sources: [String]
        let excludes: [String]
        let databases: [String]
        let destinations: [String]
        let runs: [RunRow]
        let hasRuns: Bool
        let sizeChart: String
        let durationChart: String
        let notice: String?
        /// Stale threshold, pings and check rotation, in words (nil when not set).
        let staleAfter: String?
        let pings: String?
        let check: String?
        let signature: SignatureView
        /// The Docker stack the job backs up as a whole, in words (nil: none).
        let stack: String?
        /// The job's hooks, one line each ("before: systemctl stop worker — cancel when it fails").
        let hooks: [String]
        /// Restore drills: whether the job can be drilled, its drill setting, and its newest drill in words.
        let canDrill: Bool
        let drillSetting: String?
        let lastDrill: String?
        let lastDrillRunID: String?
        let lastDrillPassed: Bool
        let proven: TimeView?
        /// The job's window and spread in words (nil: scheduled runs start at their slot).
        let timing: String?
        /// Copies between the job's destinations (`restic copy`): offered when it has two or more.
        let copyChoices: [CopyChoice]
        let canCopy: Bool
    }

    struct CopyChoice {
        let id: String
        let name: String
        /// The default target: the second destination.
        let target: Bool
    }

    func register(on router: Router<HubRequestContext>) {
        router.page(.get, "/backups/jobs", pages: pages) { request, _, caller in
            pages.render("jobs", try await list(request, caller))
        }
        router.page(.get, "/backups/jobs/new", pages: pages) { request, _, caller in
            var values = JobForm.Values()
            let query = request.uri.queryParameters
            values.server = query.get("server") ?? ""
            // Pre-filled from elsewhere ("Protect this stack" on a server page): a name, a stack, paths one a line.
            if let name = query.get("name") { values.name = String(name.prefix(64)) }
            if let paths = query.get("paths") { values.paths = String(paths.prefix(16 * 1024)) }
            if let stack = query.get("stack") { values.stack = String(stack.prefix(64)) }
            return try await form(values, caller: caller, job: nil, error: nil)
        }
        router.page(.post, "/backups/jobs", pages: pages) { request, _, caller in
            let form = try await FormData.read(request)
            try caller.checkCSRF(form)
            let values = JobForm.values(from: form)
            do {
                let (sources, retention) = try JobForm.parts(values)
                let body = JobRequest(
                    name: values.name, server: values.server, kind: values.kind, sources: sources, schedule: values.schedule,
                    timeZone: values.timeZone, retention: retention, destinations: Array(values.destinations).sorted(), enabled: values.enabled,
                    staleAfter: try JobForm.staleAfter(values), checkSubsets: try JobForm.checkSubsets(values),
                    pingURL: values.pingURL, hooks: try JobForm.hooks(values),
                    destinationRetention: try JobForm.destinationRetention(values.destinationRetention).nilIfEmpty,
                    drill: JobForm.drill(values).frequency, drillSample: JobForm.drill(values).sample,
                    window: values.window.trimmingSpaces.isEmpty ? "off" : values.window,
                    spread: values.spread.trimmingSpaces.isEmpty ? "off" : values.spread)
                let job = try await jobs.create(body, accountID: caller.account.id)
                return WebResponses.redirect("/backups/jobs/\(job.id)")
            } catch {
                guard let field = JobForm.fieldError(error) else { throw error }
                return try await self.form(values, caller: caller, job: nil, error: field, status: .badRequest)
            }
        }
        // The edit form's "Preview": what the retention typed would remove, shown in the form; nothing is saved.
        router.page(.post, "/backups/jobs/{job}/retention-preview", pages: pages) { request, context, caller in
            let form = try await FormData.read(request)
            try caller.checkCSRF(form)
            guard let job = try await job(context, caller) else { return pages.notFound("The job", caller: caller) }
            let values = JobForm.values(from: form)
            do {
                let (_, retention) = try JobForm.parts(values)
                let preview = try await jobs.retentionPreview(
                    job, retention: retention, destinationRetention: try JobForm.destinationRetention(values.destinationRetention))
                return try await self.form(values, caller: caller, job: job, error: nil, preview: preview)
            } catch {
                guard let field = JobForm.fieldError(error) else { throw error }
                return try await self.form(values, caller: caller, job: job, error: field, status: .badRequest)
            }
        }
        router.page(.get, "/backups/jobs/{job}", pages: pages) { request, context, caller in
            guard let job = try await job(context, caller) else { return pages.notFound("The job", caller: caller) }
            return pages.render("job", try await detail(job, caller: caller, notice: request.uri.queryParameters.get("notice")))
        }
        router.page(.get, "/backups/jobs/{job}/edit", pages: pages) { _, context, caller in
            guard let job = try await job(context, caller) else { return pages.notFound("The job", caller: caller) }
            return try await form(JobForm.values(of: job), caller: caller, job: job, error: nil)
        }
        router.page(.post, "/backups/jobs/{job}", pages: pages) { request, context, caller in
            let form = try await FormData.read(request)
            try caller.checkCSRF(form)
            guard let job = try await job(context, caller) else { return pages.notFound("The job", caller: caller) }
            let values = JobForm.values(from: form)
            do {
                let (sources, retention) = try JobForm.parts(values)
                let update = JobUpdate(
                    name: values.name, kind: values.kind, sources: sources, schedule: values.schedule, timeZone: values.timeZone,
                    retention: retention, destinations: Array(values.destinations).sorted(), enabled: values.enabled,
                    staleAfter: try JobForm.staleAfter(values), checkSubsets: try JobForm.checkSubsets(values),
                    pingURL: values.pingURL, hooks: try JobForm.hooks(values),
                    destinationRetention: try JobForm.destinationRetention(values.destinationRetention),
                    drill: JobForm.drill(values).frequency, drillSample: JobForm.drill(values).sample,
                    window: values.window.trimmingSpaces.isEmpty ? "off" : values.window,
                    spread: values.spread.trimmingSpaces.isEmpty ? "off" : values.spread)
                _ = try await jobs.update(job, with: update)
                return WebResponses.redirect("/backups/jobs/\(job.id)?notice=saved")
            } catch {
                guard let field = JobForm.fieldError(error) else { throw error }
                return try await self.form(values, caller: caller, job: job, error: field, status: .badRequest)
            }
        }
        router.page(.post, "/backups/jobs/{job}/run", pages: pages) { request, context, caller in
            try caller.checkCSRF(try await FormData.read(request, limit: 4096))
            guard let job = try await job(context, caller) else { return pages.notFound("The job", caller: caller) }
            do {
                let run = try await jobs.runNow(job)
                return WebResponses.redirect("/backups/runs/\(run.id)")
            } catch let error as DomainError {
                return pages.render(
                    "message",
                    MessageModel(
                        layout: Layout("Run now", section: "jobs", caller: caller), title: "The job did not start",
                        message: error.message, back: "/backups/jobs/\(job.id)"), status: .conflict)
            }
        }
        router.page(.post, "/backups/jobs/{job}/copy", pages: pages) { request, context, caller in
            let form = try await FormData.read(request, limit: 4096)
            try caller.checkCSRF(form)
            guard let job = try await job(context, caller) else { return pages.notFound("The job", caller: caller) }
            do {
                let run = try await CopyService(hub: pages.hub).copy(job, request: CopyRequest(from: form["from"] ?? "", to: form["to"] ?? ""))
                return WebResponses.redirect("/backups/runs/\(run.id)")
            } catch let error as DomainError {
                return pages.render(
                    "message",
                    MessageModel(
                        layout: Layout("Copy snapshots", section: "jobs", caller: caller), title: "The copy did not start",
                        message: error.message, back: "/backups/jobs/\(job.id)"), status: error.code == .invalid ? .badRequest : .conflict)
            }
        }
        router.page(.post, "/backups/jobs/{job}/drill", pages: pages) { request, context, caller in
            try caller.checkCSRF(try await FormData.read(request, limit: 4096))
            guard let job = try await job(context, caller) else { return pages.notFound("The job", caller: caller) }
            do {
                let run = try await DrillService(hub: pages.hub).drill(job, request: DrillRequest())
                return WebResponses.redirect("/backups/runs/\(run.id)")
            } catch let error as DomainError {
                return pages.render(
                    "message",
                    MessageModel(
                        layout: Layout("Run a drill", section: "jobs", caller: caller), title: "The drill did not start",
                        message: error.message, back: "/backups/jobs/\(job.id)"), status: .conflict)
            }
        }
        for (action, enabled) in [("enable", true), ("disable", false)] {
            router.page(.post, RouterPath("/backups/jobs/{job}/\(action)"), pages: pages) { request, context, caller in
                try caller.checkCSRF(try await FormData.read(request, limit: 4096))
                guard let job = try await job(context, caller) else { return pages.notFound("The job", caller: caller) }
                _ = try await jobs.update(
                    job,
                    with: JobUpdate(
                        name: nil, kind: nil, sources: nil, schedule: nil, timeZone: nil,
                        retention: nil, destinations: nil, enabled: enabled, staleAfter: nil))
                return WebResponses.redirect("/backups/jobs/\(job.id)?notice=\(action)d")
            }
        }
        router.page(.post, "/backups/jobs/{job}/delete", pages: pages) { request, context, caller in
            try caller.checkCSRF(try await FormData.read(request, limit: 4096))
            guard let job = try await job(context, caller) else { return pages.notFound("The job", caller: caller) }
            try await jobs.delete(job)
            return WebResponses.redirect("/backups/jobs")
        }
    }

    func job(_ context: HubRequestContext, _ caller: PageCaller) async throws -> Job? {
        guard let id = context.parameters.get("job") else { return nil }
        return try await pages.store.job(accountID: caller.account.id, id: id)
    }

    func form(
        _ values: JobForm.Values, caller: PageCaller, job: Job?, error: JobForm.FieldError?, status: HTTPResponse.Status = .ok,
        preview: RetentionPreview? = nil
    ) async throws -> Response {
        let servers = try await pages.store.servers(accountID: caller.account.id)
        let destinations = try await pages.store.destinations(accountID: caller.account.id)
        var model = JobForm.model(values, caller: caller, servers: servers, destinations: destinations, job: job, error: error)
        model.retentionPreview = preview?.destinations.map(JobForm.PreviewDestination.init) ?? []
        model.hasRetentionPreview = preview != nil
        return pages.render("job-form", model, status: status)
    }

    /// The fleet's jobs, filtered and ordered from the narrow status rows; only the shown page's
    /// jobs are loaded whole (retention, destinations).
    func list(_ request: Request, _ caller: PageCaller) async throws -> ListModel {
        let accountID = caller.account.id
        let query = request.uri.queryParameters
        let serverFilter = query.get("server").flatMap { $0.isEmpty ? nil : $0 }
        let destinationFilter = query.get("destination").flatMap { $0.isEmpty ? nil : $0 }
        let healthFilter = query.get("health").flatMap { $0.isEmpty ? nil : $0 }
        let now = pages.now
        let servers = try await pages.store.servers(accountID: accountID)
        let destinations = try await pages.store.destinations(accountID: accountID)
        let writing = try await destinationFilter.asyncFlatMap { try await pages.store.jobIDs(accountID: accountID, destinationID: $0) }
        let serverByID = Dictionary(uniqueKeysWithValues: servers.map { ($0.id, $0) })
        let matching = try await pages.store.jobStatuses(accountID: accountID, jobIDs: nil).compactMap { status -> (JobStatus, JobHealth)? in
            if let serverFilter, status.serverID != serverFilter { return nil }
            if let writing, !writing.contains(status.id) { return nil }
            let health = pages.hub.health(status, serverOnline: serverByID[status.serverID]?.isOnline(now: now) ?? false, now: now)
            if let healthFilter, health.rawValue != healthFilter { return nil }
            return (status, health)
        }.sorted { (serverByID[$0.0.serverID]?.name ?? "", $0.0.name) < (serverByID[$1.0.serverID]?.name ?? "", $1.0.name) }
        let pageCount = max(1, (matching.count + Self.rowsPerPage - 1) / Self.rowsPerPage)
        let current = min(max(query.get("page").flatMap { Int($0) } ?? 1, 1), pageCount)
        let shown = Array(matching.dropFirst((current - 1) * Self.rowsPerPage).prefix(Self.rowsPerPage))
        let full = Dictionary(uniqueKeysWithValues: try await pages.store.jobs(accountID: accountID, ids: shown.map(\.0.id)).map { ($0.id, $0) })
        let destinationNames = Dictionary(uniqueKeysWithValues: destinations.map { ($0.id, $0.name) })
        let rows: [Row] = shown.map { status, health in
            let job = full[status.id]
            return Row(
                id: status.id, name: status.name, server: serverByID[status.serverID]?.name ?? status.serverID, health: health.rawValue,
                healthLabel: WebFormat.healthLabel(health), schedule: status.schedule.calendar + " (" + status.schedule.timeZone + ")",
                retention: job.map {
                    $0.kind == .check
                        ? "check, 1/\($0.checkSubsets ?? Job.defaultCheckSubsets) of the data per run"
                        : $0.kind == .prune ? "prune (unused data removed)" : $0.retention.summary
                } ?? "",
                destinations: (job?.destinationIDs ?? []).compactMap { destinationNames[$0] }.joined(separator: ", "),
                lastSnapshot: status.newestSnapshotAt.map { TimeView($0, now: now) })
        }
        func link(_ page: Int) -> String {
            var components = URLComponents()
            components.path = "/backups/jobs"
            components.queryItems = [("server", serverFilter), ("destination", destinationFilter), ("health", healthFilter), ("page", String(page))]
                .compactMap { name, value in value.map { URLQueryItem(name: name, value: $0) } }
            return components.string ?? "/backups/jobs"
        }
        let first = (current - 1) * Self.rowsPerPage + 1
        return ListModel(
            layout: Layout("Jobs", section: "jobs", caller: caller), rows: rows,
            servers: servers.sorted { $0.name < $1.name }.map { JobForm.Option(value: $0.id, label: $0.name, selected: $0.id == serverFilter) },
            destinations: destinations.map { JobForm.Option(value: $0.id, label: $0.name, selected: $0.id == destinationFilter) },
            healths: JobHealth.allCases.map {
                JobForm.Option(value: $0.rawValue, label: WebFormat.healthLabel($0), selected: $0.rawValue == healthFilter)
            },
            hasRows: !rows.isEmpty, range: pageCount > 1 ? "Jobs \(first)–\(first + rows.count - 1) of \(matching.count)" : nil,
            previous: current > 1 ? link(current - 1) : nil, next: current < pageCount ? link(current + 1) : nil)
    }

    func detail(_ job: Job, caller: PageCaller, notice: String?) async throws -> DetailModel {
        let now = pages.now
        let accountID = caller.account.id
        let server = try await pages.store.server(accountID: accountID, reference: job.serverID)
        let runs = try await pages.store.runs(accountID: accountID, filter: RunFilter(jobID: job.id), after: nil, limit: 30).items
        let destinations = try await pages.store.destinations(accountID: accountID)
        let status =
            try await pages.store.jobStatuses(accountID: accountID, jobIDs: [job.id]).first ?? JobStatus(job, latestRun: nil, newestSnapshotAt: nil)
        let health = pages.hub.health(status, serverOnline: server?.isOnline(now: now) ?? false, now: now)
        let charts = JobChart.charts(runs: runs)
        let drillRun = try await status.lastDrill.asyncFlatMap { try await pages.store.run(accountID: accountID, id: $0.id) }
        let evidence = drillRun?.results.first?.drill
        let names = Dictionary(uniqueKeysWithValues: destinations.map { ($0.id, $0.name) })
        let notices = [
            "saved": "Saved. The agent has been told.", "enabled": "Enabled: its schedule runs again.",
            "disabled": "Disabled: no scheduled runs until enabled.",
        ]
        return DetailModel(
            layout: Layout(job.name, section: "jobs", caller: caller), id: job.id, name: job.name, server: server?.name ?? job.serverID,
            serverID: job.serverID, health: health.rawValue, healthLabel: WebFormat.healthLabel(health), enabled: job.enabled,
            schedule: job.schedule.calendar, timeZone: job.schedule.timeZone,
            nextRuns: job.enabled ? job.schedule.nextElapses(after: now, count: 5).map { TimeView($0, now: now) } : [],
            retention: job.kind.isMaintenance ? "nothing (a \(job.kind.rawValue) job makes no snapshots)" : job.retention.summary,
            sources: job.sources.paths,
            excludes: job.sources.excludes,
            databases: job.sources.databases.map { "\($0.engine.rawValue) \($0.name)" },
            destinations: job.destinationIDs.map { names[$0] ?? $0 },
            runs: runs.prefix(10).map { RunRow($0, jobName: job.name, serverName: server?.name ?? job.serverID, now: now) },
            hasRuns: !runs.isEmpty, sizeChart: charts.size, durationChart: charts.duration, notice: notice.flatMap { notices[$0] },
            staleAfter: job.staleAfter.map { "no snapshot newer than \(WebFormat.duration(Double($0)))" },
            pings: job.pingURL.map { URL(string: $0)?.host.map { "to \($0): /start, then success or /fail" } ?? "on" },
            check: job.checkSubsets.map { "reads 1/\($0) of the data each run — all of it every \($0) runs" },
            signature: try await SignatureView.job(job, pages: pages),
            stack: job.sources.stack.map { stack in
                stack.project + (stack.stop.isEmpty ? "" : " — stops \(stack.stop.joined(separator: ", ")) for the volume copy")
                    + (stack.excludeVolumes.isEmpty ? "" : " — without volumes \(stack.excludeVolumes.joined(separator: ", "))")
                    + (stack.includeBinds.isEmpty ? "" : " — with bind mounts \(stack.includeBinds.joined(separator: ", "))")
            },
            hooks: job.hooks.map { hooks in
                hooks.commands.map { name, command in
                    "\(name): \(command)" + (name == "before" ? " — when it fails: \(hooks.policy.rawValue)" : "")
                } + ["each may run \(WebFormat.duration(Double(hooks.timeout)))"]
            } ?? [],
            canDrill: (job.kind == .full || job.kind == .database) && job.sources.stack == nil,
            drillSetting: job.drill.map {
                "\($0.frequency.rawValue), sample \($0.sample.text)" + ($0.assertions.isEmpty ? "" : ", \($0.assertions.count) SQL assertions")
            },
            lastDrill: drillRun.map { run in
                var words = run.status.isFinished ? (run.status == .succeeded ? "passed" : run.status.rawValue) : run.status.rawValue
                if let evidence {
                    words +=
                        " — \(evidence.restoredFiles) of \(evidence.snapshotFiles) files, \(evidence.databases.count) databases, \(evidence.checks.filter(\.passed).count) of \(evidence.checks.count) checks passed"
                    if let estimate = evidence.estimateText { words += "; this job \(estimate)" }
                } else if let error = run.results.first?.error {
                    words += " — \(error)"
                }
                return words
            },
            lastDrillRunID: drillRun?.id, lastDrillPassed: drillRun?.status == .succeeded, proven: status.provenAt.map { TimeView($0, now: now) },
            timing: job.startPlan.summary.map { $0 + " — scheduled runs wait for it; run now does not" },
            copyChoices: job.destinationIDs.enumerated().map { CopyChoice(id: $1, name: names[$1] ?? $1, target: $0 == 1) },
            canCopy: job.destinationIDs.count > 1 && (job.kind == .full || job.kind == .database))
    }
}

extension Array {
    /// nil for an empty array (a create leaves the setting out).
    var nilIfEmpty: Self? { isEmpty ? nil : self }
}
