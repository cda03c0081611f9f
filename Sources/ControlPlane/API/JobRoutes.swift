import BackupCore
import Foundation
import HubAPI
import Hummingbird

/// Jobs: per server, what to back up, when, how long to keep, where. Each handler decodes, calls
/// `JobService` and encodes; the rules live in the use case.
struct JobRoutes {
    let hub: HubServices
    var jobs: JobService { JobService(hub: hub) }

    func register(on api: inout APIRouter) {
        api.on(
            .get, "/api/v1/jobs", summary: "List jobs, optionally of one server or writing to one destination", tag: "jobs",
            response: "JobList", query: ["server", "destination", "cursor", "limit"], list)
        api.on(.post, "/api/v1/jobs", summary: "Create a job", tag: "jobs", body: "JobRequest", response: "JobView", status: 201, create)
        api.on(
            .get, "/api/v1/jobs/{job}", summary: "Show a job (by id, or by name when unique)", tag: "jobs", response: "JobView",
            query: ["server"], show)
        api.on(
            .patch, "/api/v1/jobs/{job}", summary: "Change a job; omitted fields stay as they are", tag: "jobs", body: "JobUpdate",
            response: "JobView", query: ["server"], update)
        api.on(
            .delete, "/api/v1/jobs/{job}", summary: "Delete a job (its runs and snapshots stay listed)", tag: "jobs", response: "Deleted",
            query: ["server"], delete)
        api.on(
            .post, "/api/v1/jobs/{job}/run", summary: "Run a job now; answers the queued run (follow it with GET /runs/{run})",
            tag: "jobs", response: "Run", status: 202, query: ["server"], runNow)
        api.on(
            .post, "/api/v1/jobs/{job}/drills",
            summary:
                "Start a restore drill: a sample of the newest snapshot's files and every dump restored into scratch places, checked, removed; answers the queued drill run",
            tag: "jobs", body: "DrillRequest", response: "Run", status: 202, query: ["server"], drill)
        api.on(
            .post, "/api/v1/jobs/{job}/copies",
            summary:
                "Copy the job's snapshots from one of its destinations to another (restic copy, the target created with the source's chunker parameters); answers the queued copy run",
            tag: "jobs", body: "CopyRequest", response: "Run", status: 202, query: ["server"], copy)
        api.on(
            .put, "/api/v1/jobs/{job}/manifest",
            summary: "Store the job's manifest, signed client-side with the account key; agents refuse unsigned or changed jobs",
            tag: "jobs", body: "ManifestRequest", response: "JobView", query: ["server"], sign)
        api.on(
            .post, "/api/v1/jobs/{job}/retention-preview",
            summary: "Which existing snapshots a retention policy (absent: the job's own) would remove at each destination; changes nothing",
            tag: "jobs", scope: .read, body: "RetentionPreviewRequest", response: "RetentionPreview", query: ["server"], retentionPreview)
    }

    @Sendable func retentionPreview(_ request: Request, _ context: HubRequestContext) async throws -> JSONBody<RetentionPreview> {
        let job = try await job(request, context)
        let body = try await request.decodeJSON(RetentionPreviewRequest.self, context: context)
        return JSONBody(try await jobs.retentionPreview(job, retention: body.retention, destinationRetention: body.destinationRetention))
    }

    @Sendable func list(_ request: Request, _ context: HubRequestContext) async throws -> JSONBody<JobList> {
        let accountID = try context.accountID()
        let query = QueryParameters(request: request)
        return JSONBody(
            try await jobs.list(
                accountID: accountID, server: query.string("server"), destination: query.string("destination"),
                after: try query.cursor(), limit: try query.limit()))
    }

    @Sendable func create(_ request: Request, _ context: HubRequestContext) async throws -> JSONBody<JobView> {
        let accountID = try context.accountID()  // 401 before any look at the body
        let job = try await jobs.create(try await request.decodeJSON(JobRequest.self, context: context), accountID: accountID)
        return JSONBody(try await jobs.views([job], accountID: accountID)[0], status: .created)
    }

    @Sendable func show(_ request: Request, _ context: HubRequestContext) async throws -> JSONBody<JobView> {
        let job = try await job(request, context)
        return JSONBody(try await jobs.views([job], accountID: job.accountID)[0])
    }

    @Sendable func update(_ request: Request, _ context: HubRequestContext) async throws -> JSONBody<JobView> {
        let job = try await jobs.update(try await job(request, context), with: try await request.decodeJSON(JobUpdate.self, context: context))
        return JSONBody(try await jobs.views([job], accountID: job.accountID)[0])
    }

    @Sendable func sign(_ request: Request, _ context: HubRequestContext) async throws -> JSONBody<JobView> {
        let job = try await job(request, context)
        let body = try await request.decodeJSON(ManifestRequest.self, context: context)
        let signed = try await ManifestService(hub: hub).sign(job, with: body.manifest)
        return JSONBody(try await jobs.views([signed], accountID: signed.accountID)[0])
    }

    @Sendable func delete(_ request: Request, _ context: HubRequestContext) async throws -> JSONBody<Deleted> {
        try await jobs.delete(try await job(request, context))
        return JSONBody(Deleted())
    }

    @Sendable func runNow(_ request: Request, _ context: HubRequestContext) async throws -> JSONBody<Run> {
        JSONBody(try await jobs.runNow(try await job(request, context)), status: .accepted)
    }

    @Sendable func drill(_ request: Request, _ context: HubRequestContext) async throws -> JSONBody<Run> {
        let job = try await job(request, context)
        let body = try await request.decodeJSON(DrillRequest.self, context: context)
        return JSONBody(try await DrillService(hub: hub).drill(job, request: body), status: .accepted)
    }

    @Sendable func copy(_ request: Request, _ context: HubRequestContext) async throws -> JSONBody<Run> {
        let job = try await job(request, context)
        let body = try await request.decodeJSON(CopyRequest.self, context: context)
        return JSONBody(try await CopyService(hub: hub).copy(job, request: body), status: .accepted)
    }

    /// The job the path names (`?server=` tells jobs of the same name apart).
    func job(_ request: Request, _ context: HubRequestContext) async throws -> Job {
        try await jobs.job(
            try context.parameter("job"), server: QueryParameters(request: request).string("server"), accountID: try context.accountID())
    }
}
