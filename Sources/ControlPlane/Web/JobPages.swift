import BackupCore
import Foundation
import Hummingbird
import Store

/// Jobs: the fleet list with filters, a job's page with charts and actions, the add/edit form.
struct JobPages {
    let pages: WebPages
    var jobs: JobRoutes { JobRoutes(hub: pages.hub) }

    struct ListModel {
        let layout: Layout
        let rows: [Row]
        let servers: [JobForm.Option]
        let destinations: [JobForm.Option]
        let healths: [JobForm.Option]
        let hasRows: Bool
    }
    struct Row { let id: String; let name: String; let server: String; let health: String; let healthLabel: String; let schedule: String; let retention: String; let destinations: String; let lastSnapshot: TimeView? }

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
    }

    func register(on router: Router<HubRequestContext>) {
        router.page(.get, "/backups/jobs", pages: pages) { request, _, caller in
            pages.render("jobs", try await list(request, caller))
        }
        router.page(.get, "/backups/jobs/new", pages: pages) { request, _, caller in
            var values = JobForm.Values()
            values.server = request.uri.queryParameters.get("server") ?? ""
            return try await form(values, caller: caller, job: nil, error: nil)
        }
        router.page(.post, "/backups/jobs", pages: pages) { request, _, caller in
            let form = try await FormData.read(request)
            try caller.checkCSRF(form)
            let values = JobForm.values(from: form)
            do {
                let (sources, retention) = try JobForm.parts(values)
                let body = JobRoutes.JobRequest(name: values.name, server: values.server, kind: values.kind, sources: sources, schedule: values.schedule,
                                                timeZone: values.timeZone, retention: retention, destinations: Array(values.destinations).sorted(), enabled: values.enabled,
                                                staleAfter: try JobForm.staleAfter(values), checkSubsets: try JobForm.checkSubsets(values),
                                                pingURL: values.pingURL)
                let job = try await jobs.create(body, accountID: caller.account.id)
                return WebResponses.redirect("/backups/jobs/\(job.id)")
            } catch {
                guard let field = JobForm.fieldError(error) else { throw error }
                return try await self.form(values, caller: caller, job: nil, error: field, status: .badRequest)
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
                let update = JobRoutes.JobUpdate(name: values.name, kind: values.kind, sources: sources, schedule: values.schedule, timeZone: values.timeZone,
                                                 retention: retention, destinations: Array(values.destinations).sorted(), enabled: values.enabled,
                                                 staleAfter: try JobForm.staleAfter(values), checkSubsets: try JobForm.checkSubsets(values),
                                                pingURL: values.pingURL)
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
                let run = try await RunNowRoute(hub: pages.hub).runNow(job)
                return WebResponses.redirect("/backups/runs/\(run.id)")
            } catch let error as APIError {
                return pages.render("message", MessageModel(layout: Layout("Run now", section: "jobs", caller: caller), title: "The job did not start",
                                                            message: error.message, back: "/backups/jobs/\(job.id)"), status: .conflict)
            }
        }
        for (action, enabled) in [("enable", true), ("disable", false)] {
            router.page(.post, RouterPath("/backups/jobs/{job}/\(action)"), pages: pages) { request, context, caller in
                try caller.checkCSRF(try await FormData.read(request, limit: 4096))
                guard let job = try await job(context, caller) else { return pages.notFound("The job", caller: caller) }
                _ = try await jobs.update(job, with: JobRoutes.JobUpdate(name: nil, kind: nil, sources: nil, schedule: nil, timeZone: nil,
                                                                         retention: nil, destinations: nil, enabled: enabled, staleAfter: nil))
                return WebResponses.redirect("/backups/jobs/\(job.id)?notice=\(action)d")
            }
        }
        router.page(.post, "/backups/jobs/{job}/delete", pages: pages) { request, context, caller in
            try caller.checkCSRF(try await FormData.read(request, limit: 4096))
            guard let job = try await job(context, caller) else { return pages.notFound("The job", caller: caller) }
            _ = try await pages.store.deleteJob(accountID: caller.account.id, id: job.id)
            try await pages.hub.notifyAgent(serverID: job.serverID, accountID: caller.account.id)
            return WebResponses.redirect("/backups/jobs")
        }
    }

    func job(_ context: HubRequestContext, _ caller: PageCaller) async throws -> Job? {
        guard let id = context.parameters.get("job") else { return nil }
        return try await pages.store.job(accountID: caller.account.id, id: id)
    }

    func form(_ values: JobForm.Values, caller: PageCaller, job: Job?, error: JobForm.FieldError?, status: HTTPResponse.Status = .ok) async throws -> Response {
        let servers = try await pages.store.servers(accountID: caller.account.id)
        let destinations = try await pages.store.destinations(accountID: caller.account.id)
        return pages.render("job-form", JobForm.model(values, caller: caller, servers: servers, destinations: destinations, job: job, error: error), status: status)
    }

    func list(_ request: Request, _ caller: PageCaller) async throws -> ListModel {
        let accountID = caller.account.id
        let query = request.uri.queryParameters
        let serverFilter = query.get("server").flatMap { $0.isEmpty ? nil : $0 }
        let destinationFilter = query.get("destination").flatMap { $0.isEmpty ? nil : $0 }
        let healthFilter = query.get("health").flatMap { $0.isEmpty ? nil : $0 }
        let now = pages.now
        let servers = try await pages.store.servers(accountID: accountID)
        let destinations = try await pages.store.destinations(accountID: accountID)
        let all = try await pages.store.jobs(accountID: accountID, serverID: serverFilter, destinationID: destinationFilter)
        let statuses = Dictionary(uniqueKeysWithValues: try await pages.store.jobStatuses(accountID: accountID, jobIDs: nil).map { ($0.id, $0) })
        let serverByID = Dictionary(uniqueKeysWithValues: servers.map { ($0.id, $0) })
        let destinationNames = Dictionary(uniqueKeysWithValues: destinations.map { ($0.id, $0.name) })
        let rows: [Row] = all.compactMap { job in
            let status = statuses[job.id] ?? JobStatus(job, latestRun: nil, newestSnapshotAt: nil)
            let health = pages.hub.health(status, serverOnline: serverByID[job.serverID]?.isOnline(now: now) ?? false, now: now)
            if let healthFilter, health.rawValue != healthFilter { return nil }
            return Row(id: job.id, name: job.name, server: serverByID[job.serverID]?.name ?? job.serverID, health: health.rawValue,
                       healthLabel: WebFormat.healthLabel(health), schedule: job.schedule.calendar + " (" + job.schedule.timeZone + ")",
                       retention: job.retention.summary, destinations: job.destinationIDs.compactMap { destinationNames[$0] }.joined(separator: ", "),
                       lastSnapshot: status.newestSnapshotAt.map { TimeView($0, now: now) })
        }.sorted { ($0.server, $0.name) < ($1.server, $1.name) }
        return ListModel(
            layout: Layout("Jobs", section: "jobs", caller: caller), rows: rows,
            servers: servers.sorted { $0.name < $1.name }.map { JobForm.Option(value: $0.id, label: $0.name, selected: $0.id == serverFilter) },
            destinations: destinations.map { JobForm.Option(value: $0.id, label: $0.name, selected: $0.id == destinationFilter) },
            healths: JobHealth.allCases.map { JobForm.Option(value: $0.rawValue, label: WebFormat.healthLabel($0), selected: $0.rawValue == healthFilter) },
            hasRows: !rows.isEmpty)
    }

    func detail(_ job: Job, caller: PageCaller, notice: String?) async throws -> DetailModel {
        let now = pages.now
        let accountID = caller.account.id
        let server = try await pages.store.server(accountID: accountID, reference: job.serverID)
        let runs = try await pages.store.runs(accountID: accountID, filter: RunFilter(jobID: job.id), after: nil, limit: 30).items
        let destinations = try await pages.store.destinations(accountID: accountID)
        let status = try await pages.store.jobStatuses(accountID: accountID, jobIDs: [job.id]).first ?? JobStatus(job, latestRun: nil, newestSnapshotAt: nil)
        let health = pages.hub.health(status, serverOnline: server?.isOnline(now: now) ?? false, now: now)
        let charts = JobChart.charts(runs: runs)
        let names = Dictionary(uniqueKeysWithValues: destinations.map { ($0.id, $0.name) })
        let notices = ["saved": "Saved. The agent has been told.", "enabled": "Enabled: its schedule runs again.", "disabled": "Disabled: no scheduled runs until enabled."]
        return DetailModel(
            layout: Layout(job.name, section: "jobs", caller: caller), id: job.id, name: job.name, server: server?.name ?? job.serverID,
            serverID: job.serverID, health: health.rawValue, healthLabel: WebFormat.healthLabel(health), enabled: job.enabled,
            schedule: job.schedule.calendar, timeZone: job.schedule.timeZone,
            nextRuns: job.enabled ? job.schedule.nextElapses(after: now, count: 5).map { TimeView($0, now: now) } : [],
            retention: job.retention.summary, sources: job.sources.paths, excludes: job.sources.excludes,
            databases: job.sources.databases.map { "\($0.engine.rawValue) \($0.name)" },
            destinations: job.destinationIDs.map { names[$0] ?? $0 },
            runs: runs.prefix(10).map { RunRow($0, jobName: job.name, serverName: server?.name ?? job.serverID, now: now) },
            hasRuns: !runs.isEmpty, sizeChart: charts.size, durationChart: charts.duration, notice: notice.flatMap { notices[$0] })
    }
}
