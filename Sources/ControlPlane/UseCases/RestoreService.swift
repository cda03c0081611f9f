import BackupCore
import Foundation
import HubAPI
import LinkProtocol
import Sealing
import Store

/// Restores as use cases: a restore is a run of the snapshot's job on the chosen server, with its
/// plan kept on the run; the API and the snapshot page both call this. In an account with a
/// signing key, a restore that replaces data or crosses servers waits for a client's signature
/// before its order reaches the agent (docs/sealing.md, "Signed restore orders").
struct RestoreService {
    let hub: HubServices

    /// Checks the request against the account (snapshot, copy, server, sealing), records the run
    /// and sends the order to the server's agent, or holds it until it is signed.
    func restore(_ body: RestoreRequest, accountID: String) async throws -> Run {
        try Access.require(.restore)
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
        if plan.writesInPlace { try Access.require(.restoreInPlace) }
        let awaiting = try await ManifestService(hub: hub).accountKey(accountID: accountID) != nil && plan.needsSignature(onto: server.id)
        let now = hub.clock.now()
        let run = Run(
            id: ResourceID.make(.run), accountID: accountID, serverID: server.id, jobID: snapshot.jobID, trigger: .restore, status: .queued,
            createdAt: now, results: [DestinationResult(destinationID: destination.id, status: .pending)], restore: plan,
            signature: awaiting ? .awaiting : nil)
        try await hub.store.insertRun(run)
        if !awaiting {
            try await hub.store.enqueueCommand(
                command(for: run, destination: destination, envelope: envelope, peerCertificate: peerCertificate),
                accountID: accountID, serverID: server.id)
        }
        return run
    }

    /// `PUT /api/v1/runs/{run}/manifest`: stores the signed order of a restore that awaits it and
    /// sends it to the agent, which verifies it under the key it pinned.
    func sign(_ run: Run, with manifest: SignedManifest) async throws -> Run {
        try Access.require(.restore)
        guard run.trigger.restores, let plan = run.restore, run.signature?.state == .awaiting, run.status == .queued else {
            throw DomainError(
                .conflict, field: "run",
                "run \(run.id) does not wait for a signature (only a queued restore that replaces data or goes to another server does)",
                reason: "not_awaiting_signature")
        }
        if plan.writesInPlace { try Access.require(.restoreInPlace) }
        _ = try await ManifestService(hub: hub).verified(
            manifest, as: RestoreManifest.self, for: run, accountID: run.accountID, what: "restore run \(run.id)",
            again: "fetch the run again and sign what it holds")
        let copies = SnapshotCopies(hub: hub)
        let (snapshot, _, destination) = try await copies.resolve(
            snapshot: plan.snapshotID, destination: plan.destinationID, accountID: run.accountID)
        guard let server = try await hub.store.server(accountID: run.accountID, reference: run.serverID) else {
            throw DomainError.conflict("server", "the run's server no longer exists; start the restore again")
        }
        let (envelope, peerCertificate) = try await copies.access(destination, snapshot: snapshot, server: server, accountID: run.accountID)
        var approved = run
        approved.signature = RunSignature(state: .signed, manifest: manifest)
        let order = command(for: approved, destination: destination, envelope: envelope, peerCertificate: peerCertificate)
        guard try await hub.store.approveRestore(approved, manifest: manifest, command: order) else {
            throw DomainError.conflict("run", "run \(run.id) was signed or ended meanwhile; fetch it again")
        }
        return approved
    }

    private func command(for run: Run, destination: Destination, envelope: SealedEnvelope?, peerCertificate: String?) -> AgentCommand {
        AgentCommand(
            id: ResourceID.make(.command), kind: .restore, runID: run.id, createdAt: hub.clock.now(),
            restore: RestoreOrder(run: run, destination: destination, envelope: envelope, peerCertificate: peerCertificate))
    }
}
