import BackupCore
import Foundation
import HubAPI
import LinkProtocol
import Store

/// Restore drills as use cases (docs/operations.md, "Restore drills"): a drill is a run of the job
/// (`trigger: drill`) whose plan restores a sample of the newest snapshot's files and every dump
/// into scratch places on the chosen server, checks them and removes them. The API, the job page
/// and the hub's scheduler all call `drill`.
struct DrillService {
    let hub: HubServices

    /// Checks the request against the job and account, records the drill run and sends the order
    /// to the server's agent (or holds it for a signature where a restore there would need one).
    func drill(_ job: Job, request body: DrillRequest, runID: String = ResourceID.make(.run)) async throws -> Run {
        // A drill restores into a scratch place and removes it: whoever may run a job now may drill it.
        try Access.require(.runNow)
        guard job.kind == .full || job.kind == .database else {
            throw DomainError.conflict("job", "job \(job.name) is a \(job.kind.rawValue) job: it makes no restorable snapshot to drill")
        }
        guard job.sources.stack == nil else {
            throw DomainError.conflict(
                "job", "job \(job.name) backs up a Docker stack; drills of stack jobs are not supported yet (restore with --dry-run instead)")
        }
        let sample = try body.sample.map { try DrillSample.parse($0) } ?? job.drill?.sample ?? .standard
        let options = try DrillOptions(sample: sample, assertions: body.assertions ?? job.drill?.assertions ?? []).validated()
        let newest = try await hub.store.snapshots(accountID: job.accountID, filter: SnapshotFilter(jobID: job.id), after: nil, limit: 1)
        guard let latest = newest.items.first else {
            throw DomainError(
                .conflict, field: "job", "job \(job.name) has no snapshot yet; run it first (mzpanel jobs run \(job.name) --wait)",
                reason: "no_snapshot")
        }
        let copies = SnapshotCopies(hub: hub)
        let (snapshot, copy, destination) = try await copies.resolve(snapshot: latest.id, destination: body.destination, accountID: job.accountID)
        let serverReference = body.server ?? job.serverID
        guard let server = try await hub.store.server(accountID: job.accountID, reference: serverReference) else {
            throw DomainError.invalid("server", "no server \"\(serverReference)\" in this account; see mzpanel servers list")
        }
        let (envelope, peerCertificate) = try await copies.access(destination, snapshot: snapshot, server: server, accountID: job.accountID)
        let databases = job.sources.databases.map { DatabaseRestore(engine: $0.engine, name: $0.name, connection: $0.connection) }
        let plan = try RestorePlan(
            snapshotID: snapshot.id, sourceServerID: snapshot.serverID, destinationID: destination.id, resticSnapshotIDs: copy.resticSnapshotIDs,
            files: !job.sources.paths.isEmpty, target: nil, includes: [], databases: databases, overwrite: false, dryRun: false, drill: options
        ).validated()
        let awaiting = try await ManifestService(hub: hub).accountKey(accountID: job.accountID) != nil && plan.needsSignature(onto: server.id)
        let now = hub.clock.now()
        let run = Run(
            id: runID, accountID: job.accountID, serverID: server.id, jobID: job.id, trigger: .drill, status: .queued,
            createdAt: now, results: [DestinationResult(destinationID: destination.id, status: .pending)], restore: plan,
            signature: awaiting ? .awaiting : nil)
        try await hub.store.insertRun(run)
        if !awaiting {
            try await hub.store.enqueueCommand(
                AgentCommand(
                    id: ResourceID.make(.command), kind: .restore, runID: run.id, createdAt: now,
                    restore: RestoreOrder(run: run, destination: destination, envelope: envelope, peerCertificate: peerCertificate)),
                accountID: job.accountID, serverID: server.id)
        }
        return run
    }
}
