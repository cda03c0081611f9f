import BackupCore
import Foundation
import HubAPI
import LinkProtocol
import Store

/// Restores as use cases: a restore is a run of the snapshot's job on the chosen server, with its
/// plan kept on the run; the API and the snapshot page both call this.
struct RestoreService {
    let hub: HubServices

    /// Checks the request against the account (snapshot, copy, server, sealing), records the run
    /// and sends the order to the server's agent.
    func restore(_ body: RestoreRequest, accountID: String) async throws -> Run {
        let copies = SnapshotCopies(hub: hub)
        let (snapshot, copy, destination) = try await copies.resolve(snapshot: body.snapshot, destination: body.destination, accountID: accountID)
        let serverReference = body.server ?? snapshot.serverID
        guard let server = try await hub.store.server(accountID: accountID, reference: serverReference) else {
            throw DomainError.invalid("server", "no server \"\(serverReference)\" in this account; see mzpanel servers list")
        }
        let (envelope, peerCertificate) = try await copies.access(destination, snapshot: snapshot, server: server, accountID: accountID)
        let requested = body.databases ?? []
        if body.stack != nil, snapshot.stack == nil, let job = try await hub.store.job(accountID: accountID, id: snapshot.jobID),
            job.sources.stack == nil
        {
            throw DomainError.invalid(
                "stack", "snapshot \(snapshot.id) is not a Docker stack snapshot (its job backs up no stack); restore its files or databases")
        }
        let plan = try RestorePlan(
            snapshotID: snapshot.id, sourceServerID: snapshot.serverID, destinationID: destination.id,
            resticSnapshotIDs: copy.resticSnapshotIDs, files: body.files ?? (requested.isEmpty && body.stack == nil), target: body.target,
            includes: body.include ?? [], databases: requested, overwrite: body.overwrite ?? false, dryRun: body.dryRun ?? false,
            stack: body.stack
        ).validated(stackContents: snapshot.stack)
        let now = hub.clock.now()
        let run = Run(
            id: ResourceID.make(.run), accountID: accountID, serverID: server.id, jobID: snapshot.jobID, trigger: .restore, status: .queued,
            createdAt: now, results: [DestinationResult(destinationID: destination.id, status: .pending)], restore: plan)
        try await hub.store.insertRun(run)
        let order = RestoreOrder(run: run, destination: destination, envelope: envelope, peerCertificate: peerCertificate)
        try await hub.store.enqueueCommand(
            AgentCommand(id: ResourceID.make(.command), kind: .restore, runID: run.id, createdAt: now, restore: order),
            accountID: accountID, serverID: server.id)
        return run
    }
}
