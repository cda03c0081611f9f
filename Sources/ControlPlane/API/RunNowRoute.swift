import BackupCore
import Foundation
import Hummingbird
import LinkProtocol
import Store

/// Run now: a queued run the server's agent picks up through its command poll.
struct RunNowRoute {
    let hub: HubServices

    func register(on api: inout APIRouter) {
        api.on(.post, "/api/v1/jobs/{job}/run", summary: "Run a job now; answers the queued run (follow it with GET /runs/{run})",
               tag: "jobs", response: "Run", status: 202, query: ["server"]) { request, context in
            let job = try await JobRoutes(hub: hub).job(request, context)
            return JSONBody(try await runNow(job), status: .accepted)
        }
    }

    /// Queues a manual run and tells the agent; refuses when the agent is not enrolled or a run is active.
    func runNow(_ job: Job) async throws -> Run {
            guard let server = try await hub.store.server(accountID: job.accountID, reference: job.serverID), server.enrolledAt != nil else {
                throw APIError(.conflict, code: "conflict", "the job's server has no agent enrolled yet; run the command printed by `mzpanel servers add` on it")
            }
            let active = try await hub.store.runs(accountID: job.accountID, filter: RunFilter(jobID: job.id, status: .running), after: nil, limit: 1).items
                + hub.store.runs(accountID: job.accountID, filter: RunFilter(jobID: job.id, status: .queued), after: nil, limit: 1).items
            if let current = active.first {
                throw APIError(.conflict, code: "conflict", "job \(job.name) already has a \(current.status.rawValue) run (\(current.id)); wait for it to finish")
            }
            let now = hub.clock.now()
            let run = Run(id: ResourceID.make(.run), accountID: job.accountID, serverID: job.serverID, jobID: job.id, trigger: .manual,
                          status: .queued, createdAt: now)
            try await hub.store.insertRun(run)
            try await hub.store.enqueueCommand(AgentCommand(id: ResourceID.make(.command), kind: .runNow,
                                                            jobID: job.id, runID: run.id, createdAt: now),
                                               accountID: job.accountID, serverID: job.serverID)
            return run
    }
}
