import BackupCore
import Foundation
import HubAPI
import LinkProtocol
import Store

/// Copies between destinations (docs/operations.md, "Repository care"): a run of the job
/// (`trigger: copy`) in which the job's server copies the job's snapshots from one of the job's
/// destinations to another with `restic copy` (reading the backed-up data once, from the first
/// repository), creating the target with the source's chunker parameters. The hub then lists
/// each copied snapshot at the target too.
struct CopyService {
    let hub: HubServices

    func copy(_ job: Job, request body: CopyRequest) async throws -> Run {
        try Access.require(.runNow)
        guard !job.kind.isMaintenance else {
            throw DomainError.conflict("job", "job \(job.name) is a \(job.kind.rawValue) job: it makes no snapshots to copy")
        }
        let jobs = JobService(hub: hub)
        let from = try await jobs.destinations([body.from], accountID: job.accountID, field: "from")[0]
        let to = try await jobs.destinations([body.to], accountID: job.accountID, field: "to")[0]
        guard from.id != to.id else {
            throw DomainError.invalid("to", "from and to are the same destination (\(from.name)); copy to another of the job's destinations")
        }
        for (field, destination) in [("from", from), ("to", to)] where !job.destinationIDs.contains(destination.id) {
            throw DomainError.invalid(
                field,
                "destination \(destination.name) is not a destination of job \(job.name); add it to the job first (mzpanel jobs edit \(job.name) --destination …)"
            )
        }
        guard to.kind != .peer else {
            throw DomainError.invalid(
                "to", "peer destination \(to.name) is append-only for this server's backups; copy to a local or cloud destination")
        }
        guard let account = try await hub.store.account(id: job.accountID) else { throw DomainError(.unauthorized, "the account no longer exists") }
        try account.plan.authorize(from.kind)
        try account.plan.authorize(to.kind)
        guard let server = try await hub.store.server(accountID: job.accountID, reference: job.serverID), server.enrolledAt != nil else {
            throw DomainError.conflict(nil, "the job's server has no agent enrolled yet; run the command printed by `mzpanel servers add` on it")
        }
        let run = Run(
            id: ResourceID.make(.run), accountID: job.accountID, serverID: job.serverID, jobID: job.id, trigger: .copy, status: .queued,
            createdAt: hub.clock.now(), results: [DestinationResult(destinationID: to.id, status: .pending, copiedFrom: from.id)])
        let command = AgentCommand(
            id: ResourceID.make(.command), kind: .runNow, jobID: job.id, runID: run.id, createdAt: run.createdAt,
            copy: CopyPlan(from: from.id, to: to.id))
        do {
            try await hub.store.queueRun(run, command: command)
        } catch let error as DomainError where error.code == .conflict {
            throw DomainError.conflict(error.field, "job \(job.name) \(error.message)")
        }
        return run
    }
}
