import BackupCore
import Foundation
import HubAPI
import Hummingbird
import Store

/// Runs and snapshots (read-only here: agents report them), the fleet summary and the schedule preview.
struct HistoryRoutes {
    let hub: HubServices
    var jobs: JobService { JobService(hub: hub) }

    static let listQuery = ["server", "job", "destination", "since", "until", "cursor", "limit"]

    func register(on api: inout APIRouter) {
        api.on(
            .get, "/api/v1/runs", summary: "List runs, newest first, with filters and cursor pagination", tag: "history",
            response: "RunPage", query: Self.listQuery + ["status"], runs)
        api.on(
            .get, "/api/v1/runs/{run}",
            summary:
                "Show a run with its per-destination results, live progress and snapshot; wait=1–30: an unfinished run answers at its next change",
            tag: "history", response: "RunDetail", query: ["wait"], run)
        api.on(
            .get, "/api/v1/snapshots", summary: "List snapshots, newest first, with filters and cursor pagination", tag: "history",
            response: "SnapshotPage", query: Self.listQuery, snapshots)
        api.on(.get, "/api/v1/snapshots/{snapshot}", summary: "Show a snapshot and its copies", tag: "history", response: "Snapshot", snapshot)
        api.on(.get, "/api/v1/fleet", summary: "Counts over the whole fleet", tag: "history", response: "FleetSummary", fleet)
        api.on(
            .post, "/api/v1/schedules/preview", summary: "Normalize a schedule and list its next elapses in a time zone", tag: "jobs", scope: .read,
            body: "PreviewRequest", response: "SchedulePreview", preview)
    }

    @Sendable func runs(_ request: Request, _ context: HubRequestContext) async throws -> some ResponseGenerator {
        let accountID = try context.accountID()
        let query = QueryParameters(request: request)
        let scope = try await scope(query, accountID: accountID)
        let filter = RunFilter(
            serverID: scope.server, jobID: scope.job, destinationID: scope.destination,
            status: try query.enumeration("status", RunStatus.self), since: scope.since, until: scope.until)
        let page = try await hub.store.runs(accountID: accountID, filter: filter, after: try query.cursor(), limit: try query.limit())
        let names = try await names(jobIDs: page.items.map(\.jobID), serverIDs: page.items.map(\.serverID), accountID: accountID)
        return JSONBody(RunPage(runs: page.items, nextCursor: page.nextCursor?.token, names: names))
    }

    @Sendable func run(_ request: Request, _ context: HubRequestContext) async throws -> some ResponseGenerator {
        let id = try context.parameter("run")
        let accountID = try context.accountID()
        let wait = try QueryParameters(request: request).int("wait") ?? 0
        guard (0...30).contains(wait) else {
            throw APIError.badRequest("wait is 0 to 30 seconds (how long an unfinished run may be waited for)", field: "wait")
        }
        // Noted before the read: a change between the read and the wait is not missed.
        let generation = await hub.store.runBell.generation(of: id)
        guard var run = try await hub.store.run(accountID: accountID, id: id) else { throw APIError.notFound(.run, id) }
        if wait > 0 && !run.status.isFinished {
            // Woken by the agent's next event for this run (on any replica), or after `wait` seconds.
            await hub.store.runBell.waitWhileServing(for: id, since: generation, upTo: .seconds(wait))
            run = try await hub.store.run(accountID: accountID, id: id) ?? run
        }
        return JSONBody(RunView(run: run, snapshot: try await hub.store.snapshot(accountID: accountID, runID: run.id)))
    }

    @Sendable func snapshots(_ request: Request, _ context: HubRequestContext) async throws -> some ResponseGenerator {
        let accountID = try context.accountID()
        let query = QueryParameters(request: request)
        let scope = try await scope(query, accountID: accountID)
        let filter = SnapshotFilter(
            serverID: scope.server, jobID: scope.job, destinationID: scope.destination, since: scope.since, until: scope.until)
        let page = try await hub.store.snapshots(accountID: accountID, filter: filter, after: try query.cursor(), limit: try query.limit())
        let names = try await names(
            jobIDs: page.items.map(\.jobID), serverIDs: page.items.map(\.serverID),
            withDestinations: page.items.contains { !$0.copies.isEmpty }, accountID: accountID)
        return JSONBody(HubAPI.SnapshotPage(snapshots: page.items, nextCursor: page.nextCursor?.token, names: names))
    }

    @Sendable func snapshot(_ request: Request, _ context: HubRequestContext) async throws -> some ResponseGenerator {
        let id = try context.parameter("snapshot")
        guard let snapshot = try await hub.store.snapshot(accountID: try context.accountID(), id: id) else { throw APIError.notFound(.snapshot, id) }
        return JSONBody(snapshot)
    }

    @Sendable func fleet(_ request: Request, _ context: HubRequestContext) async throws -> some ResponseGenerator {
        return JSONBody(try await hub.store.fleetSummary(accountID: try context.accountID(), now: hub.clock.now()))
    }

    @Sendable func preview(_ request: Request, _ context: HubRequestContext) async throws -> some ResponseGenerator {
        _ = try context.accountID()
        let body = try await request.decodeJSON(PreviewRequest.self, context: context)
        let count = body.count ?? 5
        guard (1...100).contains(count) else { throw APIError.badRequest("count \(count) is out of range; ask for 1 to 100 elapses", field: "count") }
        let schedule = try Schedule.validated(body.schedule, timeZone: body.timeZone ?? "UTC")
        let plan = StartPlan(
            jobID: try SchedulePreview.jobReference(body.job), timeZone: schedule.timeZone,
            window: try body.window.flatMap { try Job.validatedWindow($0) }, spreadSeconds: try body.spread.flatMap { try ScheduleSpread.parse($0) })
        return JSONBody(SchedulePreview(schedule, plan: plan, after: body.from ?? hub.clock.now(), count: count))
    }

    /// The names of a listing's jobs and servers (and the account's destinations), by id: one query each.
    func names(jobIDs: [String], serverIDs: [String], withDestinations: Bool = false, accountID: String) async throws -> [String: String] {
        var names: [String: String] = [:]
        let jobIDs = Array(Set(jobIDs))
        let serverIDs = Array(Set(serverIDs))
        if !jobIDs.isEmpty {
            for job in try await hub.store.jobs(accountID: accountID, ids: jobIDs) { names[job.id] = job.name }
        }
        if !serverIDs.isEmpty {
            for server in try await hub.store.servers(accountID: accountID, ids: serverIDs) { names[server.id] = server.name }
        }
        if withDestinations {
            for destination in try await hub.store.destinations(accountID: accountID) { names[destination.id] = destination.name }
        }
        return names
    }

    /// The resource filters shared by the run and snapshot listings, resolved from names or ids.
    func scope(_ query: QueryParameters, accountID: String) async throws -> (
        server: String?, job: String?, destination: String?, since: Date?, until: Date?
    ) {
        var server: String?
        if let reference = query.string("server") { server = try await jobs.serverID(reference, accountID: accountID, field: "server") }
        var destination: String?
        if let reference = query.string("destination") {
            destination = try await jobs.destinations([reference], accountID: accountID, field: "destination")[0].id
        }
        var job: String?
        if let reference = query.string("job") {
            let matches = try await hub.store.jobs(accountID: accountID, reference: reference, serverID: server)
            if matches.count > 1 {
                throw APIError(
                    .conflict, code: "ambiguous", "\(matches.count) jobs are named \"\(reference)\"; add server=… or use the job's id", field: "job")
            }
            guard let match = matches.first else {
                throw APIError(.badRequest, code: "invalid", "no job \"\(reference)\" in this account", field: "job")
            }
            job = match.id
        }
        let since = try query.date("since")
        let until = try query.date("until")
        if let since, let until, since >= until {
            throw APIError.badRequest("since must be earlier than until", field: "since")
        }
        return (server, job, destination, since, until)
    }
}
