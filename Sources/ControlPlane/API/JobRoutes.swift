import BackupCore
import Foundation
import Hummingbird
import LinkProtocol
import Store

/// Jobs: per server, what to back up, when, how long to keep, where.
struct JobRoutes {
    let hub: HubServices

    struct JobRequest: Decodable {
        let name: String
        let server: String
        let kind: String
        let sources: JobSources?
        let schedule: String
        let timeZone: String?
        let retention: RetentionPolicy?
        let destinations: [String]
        let enabled: Bool?
        /// Seconds without a new snapshot before the job is `stale`; 0 turns the rule off.
        let staleAfter: Int?
        /// Check jobs: read 1/checkSubsets of the data per run (default 10).
        var checkSubsets: Int? = nil
        /// Healthchecks-style ping URL called by the agent at each run ("" removes it).
        var pingURL: String? = nil
    }
    struct JobUpdate: Decodable {
        let name: String?
        let kind: String?
        let sources: JobSources?
        let schedule: String?
        let timeZone: String?
        let retention: RetentionPolicy?
        let destinations: [String]?
        let enabled: Bool?
        /// Seconds without a new snapshot before the job is `stale`; 0 turns the rule off.
        let staleAfter: Int?
        /// Check jobs: read 1/checkSubsets of the data per run (default 10).
        var checkSubsets: Int? = nil
        /// Healthchecks-style ping URL called by the agent at each run ("" removes it).
        var pingURL: String? = nil
    }
    /// A job with what people ask next: when it runs and what it keeps, in words.
    struct JobView: Encodable, Sendable {
        let job: Job
        let onCalendar: String
        let nextRunAt: Date?
        let retentionSummary: String
        let health: JobHealth?
        let lastRun: RunBrief?

        init(_ job: Job, now: Date, health: JobHealth? = nil, lastRun: RunBrief? = nil) {
            self.job = job
            self.health = health
            self.lastRun = lastRun
            self.onCalendar = job.schedule.onCalendarLine
            self.nextRunAt = job.enabled ? job.schedule.nextElapse(after: now) : nil
            self.retentionSummary = job.retention.summary
        }

        func encode(to encoder: any Encoder) throws {
            try job.encode(to: encoder)
            var container = encoder.container(keyedBy: Keys.self)
            try container.encode(onCalendar, forKey: .onCalendar)
            try container.encodeIfPresent(nextRunAt, forKey: .nextRunAt)
            try container.encode(retentionSummary, forKey: .retentionSummary)
            try container.encodeIfPresent(health, forKey: .health)
            try container.encodeIfPresent(lastRun.map(LastRun.init), forKey: .lastRun)
        }
        enum Keys: String, CodingKey { case onCalendar, nextRunAt, retentionSummary, health, lastRun }
    }
    /// The newest run in brief.
    struct LastRun: Encodable, Sendable {
        let id: String
        let status: RunStatus
        let createdAt: Date
        let finishedAt: Date?
        init(_ run: RunBrief) { id = run.id; status = run.status; createdAt = run.createdAt; finishedAt = run.finishedAt }
    }
    struct JobList: Encodable, Sendable { let jobs: [JobView]; let nextCursor: String? }

    func register(on api: inout APIRouter) {
        api.on(.get, "/api/v1/jobs", summary: "List jobs, optionally of one server or writing to one destination", tag: "jobs",
               response: "JobList", query: ["server", "destination", "cursor", "limit"]) { request, context in
            let accountID = try context.accountID()
            let query = QueryParameters(request: request)
            var server: String?
            if let reference = query.string("server") { server = try await serverID(reference, accountID: accountID, field: "server") }
            var destination: String?
            if let reference = query.string("destination") { destination = try await destinationIDs([reference], accountID: accountID, field: "destination")[0].id }
            let page = try await hub.store.jobs(accountID: accountID, serverID: server, destinationID: destination,
                                                after: try query.cursor(), limit: try query.limit())
            return JSONBody(JobList(jobs: try await views(page.items, accountID: accountID), nextCursor: page.nextCursor?.token))
        }
        api.on(.post, "/api/v1/jobs", summary: "Create a job", tag: "jobs", body: "JobRequest", response: "Job", status: 201) { request, context in
            let accountID = try context.accountID()  // 401 before any look at the body
            let job = try await create(try await request.decodeJSON(JobRequest.self, context: context), accountID: accountID)
            return JSONBody(JobView(job, now: job.createdAt), status: .created)
        }
        api.on(.get, "/api/v1/jobs/{job}", summary: "Show a job (by id, or by name when unique)", tag: "jobs", response: "Job",
               query: ["server"]) { request, context in
            let job = try await job(request, context)
            return JSONBody(try await views([job], accountID: job.accountID)[0])
        }
        api.on(.patch, "/api/v1/jobs/{job}", summary: "Change a job; omitted fields stay as they are", tag: "jobs", body: "JobUpdate",
               response: "Job", query: ["server"]) { request, context in
            let job = try await update(try await job(request, context), with: try await request.decodeJSON(JobUpdate.self, context: context))
            return JSONBody(JobView(job, now: job.updatedAt))
        }
        api.on(.delete, "/api/v1/jobs/{job}", summary: "Delete a job (its runs and snapshots stay listed)", tag: "jobs", response: "Deleted",
               query: ["server"]) { request, context in
            let job = try await job(request, context)
            guard try await hub.store.deleteJob(accountID: job.accountID, id: job.id) else { throw APIError.notFound(.job, job.id) }
            try await notifyAgent(serverID: job.serverID, accountID: job.accountID)
            return JSONBody(Deleted())
        }
    }

    /// Validates and stores a new job, then tells its agent (the API and the web form share this).
    func create(_ body: JobRequest, accountID: String) async throws -> Job {
            let name = try Name.validate(body.name)
            let kind = try Self.kind(body.kind)
            let sources = try (body.sources ?? JobSources()).validated(for: kind)
            let schedule = try Self.schedule(body.schedule, timeZone: body.timeZone ?? "UTC")
            let retention = try Self.validated(body.retention ?? .standard)
            let server = try await serverID(body.server, accountID: accountID, field: "server")
            let destinations = try await authorizedDestinations(body.destinations, accountID: accountID)
            let now = hub.clock.now()
            let job = Job(id: ResourceID.make(.job), accountID: accountID, serverID: server, name: name, kind: kind, sources: sources,
                          schedule: schedule, retention: retention, destinationIDs: destinations, enabled: body.enabled ?? true,
                          createdAt: now, updatedAt: now, staleAfter: try Self.staleAfter(body.staleAfter, kind: kind),
                          checkSubsets: try Job.validatedCheckSubsets(body.checkSubsets, kind: kind), pingURL: try Job.validatedPingURL(body.pingURL))
            try await hub.store.createJob(job)
            try await notifyAgent(serverID: job.serverID, accountID: accountID)
            return job
    }

    /// Applies a change to a job, stores it and tells its agent.
    func update(_ original: Job, with body: JobUpdate) async throws -> Job {
            var job = original
            if let name = body.name { job.name = try Name.validate(name) }
            if let kind = body.kind { job.kind = try Self.kind(kind) }
            job.sources = try (body.sources ?? job.sources).validated(for: job.kind)
            if body.schedule != nil || body.timeZone != nil {
                let input = body.schedule ?? job.schedule.calendar
                job.schedule = try Self.schedule(input, timeZone: body.timeZone ?? job.schedule.timeZone)
            }
            if let retention = body.retention { job.retention = try Self.validated(retention) }
            if let destinations = body.destinations { job.destinationIDs = try await authorizedDestinations(destinations, accountID: job.accountID) }
            if let enabled = body.enabled { job.enabled = enabled }
            if let staleAfter = body.staleAfter { job.staleAfter = try Self.staleAfter(staleAfter, kind: job.kind) }
            if job.kind == .check { job.staleAfter = nil }
            if let pingURL = body.pingURL { job.pingURL = try Job.validatedPingURL(pingURL) }
            job.checkSubsets = try Job.validatedCheckSubsets(job.kind == .check ? (body.checkSubsets ?? job.checkSubsets) : body.checkSubsets, kind: job.kind)
            job.updatedAt = hub.clock.now()
            try await hub.store.updateJob(job)
            try await notifyAgent(serverID: job.serverID, accountID: job.accountID)
            return job
    }

    /// Tells the server's agent to fetch its jobs again (timers follow the change at once).
    func notifyAgent(serverID: String, accountID: String) async throws {
        try await hub.notifyAgent(serverID: serverID, accountID: accountID)
    }

    /// Views with health: one query for the newest runs, one for the servers, whatever the page size.
    func views(_ jobs: [Job], accountID: String) async throws -> [JobView] {
        let now = hub.clock.now()
        let statuses = Dictionary(uniqueKeysWithValues: try await hub.store.jobStatuses(accountID: accountID, jobIDs: jobs.map(\.id)).map { ($0.id, $0) })
        let servers = Dictionary(uniqueKeysWithValues: try await hub.store.servers(accountID: accountID, ids: jobs.map(\.serverID)).map { ($0.id, $0) })
        return jobs.map { job in
            let online = servers[job.serverID]?.isOnline(now: now) ?? false
            let status = statuses[job.id] ?? JobStatus(job, latestRun: nil, newestSnapshotAt: nil)
            return JobView(job, now: now, health: hub.health(status, serverOnline: online, now: now), lastRun: status.latestRun)
        }
    }

    /// Validates retention, naming fields as the request does (`retention.keepLast`).
    static func validated(_ retention: RetentionPolicy) throws -> RetentionPolicy {
        do {
            return try retention.validated()
        } catch {
            throw error.prefixed("retention")
        }
    }

    static func kind(_ text: String) throws -> JobKind {
        guard let kind = JobKind(rawValue: text.lowercased()) else {
            throw APIError.badRequest("\"\(text)\" is not a job kind; use full (paths and databases), database (databases only) or check (verify the repositories)", field: "kind")
        }
        return kind
    }

    /// The stale threshold, for backup jobs only (a check job makes no snapshots).
    static func staleAfter(_ seconds: Int?, kind: JobKind) throws -> Int? {
        if kind == .check, let seconds, seconds != 0 {
            throw APIError.badRequest("a check job makes no snapshots, so it cannot be stale; set staleAfter on the backup jobs", field: "staleAfter")
        }
        return try Job.validatedStaleAfter(seconds)
    }

    static func schedule(_ input: String, timeZone: String) throws -> Schedule {
        do {
            return try Schedule.parse(input, timeZone: timeZone)
        } catch let error as ScheduleError {
            throw APIError.badRequest(error.description, field: error.fragment == timeZone ? "timeZone" : "schedule")
        }
    }

    func job(_ request: Request, _ context: HubRequestContext) async throws -> Job {
        let accountID = try context.accountID()
        let reference = try context.parameter("job")
        var server: String?
        if let name = QueryParameters(request: request).string("server") { server = try await serverID(name, accountID: accountID, field: "server") }
        let matches = try await hub.store.jobs(accountID: accountID, reference: reference, serverID: server)
        if matches.count > 1 {
            throw APIError(.conflict, code: "ambiguous", "\(matches.count) jobs are named \"\(reference)\" (on different servers); give the server too (?server=NAME, --server) or use the job's id")
        }
        guard let job = matches.first else { throw APIError.notFound(.job, reference) }
        return job
    }

    func serverID(_ reference: String, accountID: String, field: String) async throws -> String {
        guard let server = try await hub.store.server(accountID: accountID, reference: reference) else {
            throw APIError(.badRequest, code: "invalid", "no server \"\(reference)\" in this account; see mzpanel servers list", field: field)
        }
        return server.id
    }

    func destinationIDs(_ references: [String], accountID: String, field: String? = nil) async throws -> [Destination] {
        var found: [Destination] = []
        for (index, reference) in references.enumerated() {
            guard let destination = try await hub.store.destination(accountID: accountID, reference: reference) else {
                throw APIError(.badRequest, code: "invalid", "no destination \"\(reference)\" in this account; see mzpanel destinations list", field: field ?? "destinations[\(index)]")
            }
            found.append(destination)
        }
        return found
    }

    /// Resolves destinations and checks the plan still includes each one's kind.
    func authorizedDestinations(_ references: [String], accountID: String) async throws -> [String] {
        guard let account = try await hub.store.account(id: accountID) else { throw APIError.unauthorized }
        let destinations = try await destinationIDs(references, accountID: accountID)
        for destination in destinations { try account.plan.authorize(destination.kind) }
        do {
            return try Job.validatedDestinations(destinations.map(\.id))
        } catch {
            throw APIError(DomainError(error.code, field: "destinations", error.message))
        }
    }
}

