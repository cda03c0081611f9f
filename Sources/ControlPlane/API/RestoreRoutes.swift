import BackupCore
import Foundation
import Hummingbird
import LinkProtocol
import Store

/// `POST /api/v1/restores`: a restore is a run of the snapshot's job on the chosen server, with
/// its plan kept on the run (who restored what, from where, to where — the audit log has who).
struct RestoreRoutes {
    let hub: HubServices

    struct RestoreRequest: Decodable {
        let snapshot: String
        let destination: String?
        let server: String?
        let target: String?
        let include: [String]?
        let files: Bool?
        let databases: [DatabaseRestore]?
        let overwrite: Bool?
        let dryRun: Bool?
    }

    func register(on api: inout APIRouter) {
        api.on(.post, "/api/v1/restores", summary: "Restore a snapshot's files and databases (answers the queued restore run)", tag: "restores",
               body: "RestoreRequest", response: "Run", status: 202) { request, context in
            let accountID = try context.accountID()
            let run = try await restore(try await request.decodeJSON(RestoreRequest.self, context: context), accountID: accountID)
            return JSONBody(run, status: .accepted)
        }
    }

    /// Checks the request against the account (snapshot, copy, server, sealing), records the run
    /// and sends the order to the server's agent.
    func restore(_ body: RestoreRequest, accountID: String) async throws -> Run {
        guard let snapshot = try await hub.store.snapshot(accountID: accountID, id: body.snapshot) else {
            throw APIError(.badRequest, code: "invalid", "no snapshot \"\(body.snapshot)\" in this account; see mzpanel snapshots list", field: "snapshot")
        }
        var copy = snapshot.copies.first
        if let reference = body.destination {
            guard let chosen = try await hub.store.destination(accountID: accountID, reference: reference) else {
                throw APIError(.badRequest, code: "invalid", "no destination \"\(reference)\" in this account", field: "destination")
            }
            copy = snapshot.copies.first { $0.destinationID == chosen.id }
            guard copy != nil else {
                throw APIError(.badRequest, code: "invalid", "snapshot \(snapshot.id) has no copy at \(chosen.name); it has copies at \(snapshot.copies.map(\.destinationID).joined(separator: ", "))", field: "destination")
            }
        }
        guard let copy, let destination = try await hub.store.destination(accountID: accountID, reference: copy.destinationID) else {
            throw APIError(.conflict, code: "no_copy", "snapshot \(snapshot.id) has no copy left to restore from (its destinations were removed)")
        }
        let serverReference = body.server ?? snapshot.serverID
        guard let server = try await hub.store.server(accountID: accountID, reference: serverReference) else {
            throw APIError(.badRequest, code: "invalid", "no server \"\(serverReference)\" in this account; see mzpanel servers list", field: "server")
        }
        guard server.enrolledAt != nil else {
            throw APIError(.conflict, code: "not_enrolled", "server \(server.name) has no agent yet; enroll it first (mzpanel servers enroll-command \(server.name))", field: "server")
        }
        var envelope: SealedEnvelope?
        if server.id != snapshot.serverID {
            guard destination.kind.isOffsite, destination.kind != .peer else {
                throw APIError(.conflict, code: "not_portable", "\(destination.name) is a \(destination.kind.rawValue) destination: only the server that made the backup can open its repository there; restore from an s3, b2 or rclone copy (--destination), or onto \(snapshot.serverID)", field: "server")
            }
        }
        if destination.kind.isOffsite {
            envelope = try await hub.store.envelopes(accountID: accountID, destinationID: destination.id).first { $0.serverID == server.id }
            guard envelope != nil else {
                throw APIError(.conflict, code: "not_sealed", "\(destination.name) is not sealed to \(server.name) yet; seal it first: mzpanel destinations attach \(destination.name) --server \(server.name)", field: "server")
            }
        }
        var peerCertificate: String?
        if destination.kind == .peer { peerCertificate = try await hub.store.peerReports(accountID: accountID)[destination.id]?.certificate }
        let requested = body.databases ?? []
        let plan = try RestorePlan(snapshotID: snapshot.id, sourceServerID: snapshot.serverID, destinationID: destination.id,
                                   resticSnapshotIDs: copy.resticSnapshotIDs, files: body.files ?? requested.isEmpty, target: body.target,
                                   includes: body.include ?? [], databases: requested, overwrite: body.overwrite ?? false, dryRun: body.dryRun ?? false).validated()
        let now = hub.clock.now()
        let run = Run(id: ResourceID.make(.run), accountID: accountID, serverID: server.id, jobID: snapshot.jobID, trigger: .restore, status: .queued,
                      createdAt: now, results: [DestinationResult(destinationID: destination.id, status: .pending)], restore: plan)
        try await hub.store.insertRun(run)
        let order = RestoreOrder(run: run, destination: destination, envelope: envelope, peerCertificate: peerCertificate)
        try await hub.store.enqueueCommand(AgentCommand(id: ResourceID.make(.command), kind: .restore, runID: run.id, createdAt: now, restore: order),
                                           accountID: accountID, serverID: server.id)
        return run
    }
}
