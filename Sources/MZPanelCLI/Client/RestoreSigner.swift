import BackupCore
import Foundation
import HubAPI
import Sealing

/// Signs restore orders that wait for the account's signature (docs/sealing.md, "Signed restore
/// orders"): shows the plan in words, holds it against what the command asked for when there is
/// such a request, then signs exactly the run the hub holds.
struct RestoreSigner {
    let client: APIClient
    let vault: UnlockedVault

    /// The restore as the command asked for it (the hub resolves the snapshot's copy).
    struct Intent {
        var request: RestoreRequest
        /// The hub's rule: without `files`, files are restored when nothing else is named.
        var files: Bool { request.files ?? ((request.databases ?? []).isEmpty && request.stack == nil) }
    }

    /// Signs `run` once its plan is `intent` (when given) and its snapshot is the one the plan names; answers the run.
    func sign(_ run: Run, intent: Intent? = nil) async throws -> Run {
        guard let plan = run.restore, run.signature?.state == .awaiting else {
            throw CLIError("run \(run.id) does not wait for a signature (only a queued restore that replaces data or changes server does)")
        }
        let snapshot = try await client.send("GET", "/api/v1/snapshots/\(plan.snapshotID.pathSegment)", as: Snapshot.self)
        var problems: [String] = []
        if snapshot.serverID != plan.sourceServerID { problems.append("source server") }
        if snapshot.copies.first(where: { $0.destinationID == plan.destinationID })?.resticSnapshotIDs != plan.resticSnapshotIDs {
            problems.append("copy")
        }
        if let intent { problems += try await differences(plan, run: run, from: intent) }
        guard problems.isEmpty else {
            throw CLIError(
                "the hub holds restore run \(run.id) with other \(problems.joined(separator: ", ")) than asked: nothing was signed. Check it (`mzpanel runs show \(run.id)`); if the hub is not yours to trust, do not sign it"
            )
        }
        let manifest = try ManifestSignature.sign(
            RestoreManifest(run: run, plan: plan, version: SignedManifest.nextVersion(after: nil, now: Date())), with: vault.signingKey)
        return try await client.send("PUT", "/api/v1/runs/\(run.id)/manifest", body: ManifestRequest(manifest: manifest))
    }

    /// One line that says what signing `run` allows.
    static func describe(_ run: Run, serverName: String? = nil) -> String {
        run.restore?.summary(onto: serverName ?? run.serverID) ?? "run \(run.id)"
    }

    private func differences(_ plan: RestorePlan, run: Run, from intent: Intent) async throws -> [String] {
        var fields: [String] = []
        let asked = intent.request
        if !(plan.snapshotID == asked.snapshot || plan.snapshotID.hasPrefix(asked.snapshot)) { fields.append("snapshot") }
        let server = try await client.send("GET", "/api/v1/servers/\((asked.server ?? plan.sourceServerID).pathSegment)", as: Server.self)
        if server.id != run.serverID { fields.append("server") }
        if let destination = asked.destination {
            let chosen = try await client.send("GET", "/api/v1/destinations/\(destination.pathSegment)", as: DestinationView.self)
            if chosen.destination.id != plan.destinationID { fields.append("destination") }
        }
        let expected = try RestorePlan(
            snapshotID: plan.snapshotID, sourceServerID: plan.sourceServerID, destinationID: plan.destinationID,
            resticSnapshotIDs: plan.resticSnapshotIDs, files: intent.files, target: asked.target, includes: asked.include ?? [],
            databases: asked.databases ?? [], overwrite: asked.overwrite ?? false, dryRun: asked.dryRun ?? false, stack: asked.stack
        ).validated()
        if expected.files != plan.files || expected.includes != plan.includes { fields.append("files") }
        if expected.target != plan.target { fields.append("target") }
        if expected.databases != plan.databases { fields.append("databases") }
        if expected.stack != plan.stack { fields.append("stack") }
        if expected.overwrite != plan.overwrite || expected.dryRun != plan.dryRun { fields.append("overwrite/dry run") }
        return fields
    }
}
