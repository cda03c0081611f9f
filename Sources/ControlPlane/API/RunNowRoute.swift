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
            let run = Run(id: ResourceID.make(.run), accountID: job.accountID, serverID: job.serverID, jobID: job.id, trigger: .manual,
                          status: .queued, createdAt: hub.clock.now())
            let command = AgentCommand(id: ResourceID.make(.command), kind: .runNow, jobID: job.id, runID: run.id, createdAt: run.createdAt)
            do {
                try await hub.store.queueRun(run, command: command)
            } catch let error as DomainError where error.code == .conflict {
                throw APIError(.conflict, code: "conflict", "job \(job.name) \(error.message)")
            }
            return run
    }
}
