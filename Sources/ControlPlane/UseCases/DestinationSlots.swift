import BackupCore
import Foundation
import LinkProtocol
import Store

/// The hub's side of per-destination concurrency caps: agents claim a slot before a run touches a
/// capped destination and renew it while the run goes on; a slot not renewed within
/// `DestinationSlots.lifetime` (a crashed agent, a box cut off) is free again.
struct DestinationSlots {
    let hub: HubServices
    /// How long a claim holds without renewal (agents renew every 20 s). `MZPANEL_SLOT_LIFETIME`
    /// (seconds, 5–3600) overrides it, for tests of a crashed holder.
    static let lifetime: TimeInterval = {
        guard let text = ProcessInfo.processInfo.environment["MZPANEL_SLOT_LIFETIME"], let value = TimeInterval(text), (5...3600).contains(value)
        else { return 90 }
        return value
    }()

    func claim(_ request: SlotRequest, from server: Server) async throws -> SlotAnswer {
        let now = hub.clock.now()
        let safe = { (id: String) in
            !id.isEmpty && id.count <= 128 && id.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == "-") }
        }
        guard safe(request.runID), safe(request.jobID) else {
            throw DomainError.invalid("runID", "run and job ids are letters, digits, '_' and '-' only")
        }
        guard let destination = try await hub.store.destination(accountID: server.accountID, reference: request.destinationID),
            destination.id == request.destinationID
        else {
            throw DomainError(.notFound, "no destination \"\(request.destinationID)\" in this account")
        }
        guard let job = try await hub.store.jobs(accountID: server.accountID, ids: [request.jobID]).first, job.serverID == server.id,
            job.destinationIDs.contains(destination.id)
        else {
            throw DomainError(.notFound, "this server has no job \"\(request.jobID)\" writing to destination \"\(destination.id)\"")
        }
        if request.release == true {
            try await hub.store.releaseDestinationSlot(accountID: server.accountID, destinationID: destination.id, runID: request.runID)
            return SlotAnswer(granted: false, position: 0, expiresAt: now, limit: destination.maxConcurrentRuns)
        }
        guard let limit = destination.maxConcurrentRuns else {
            // The cap was removed: go ahead (and leave the line, if the run was in it).
            try await hub.store.releaseDestinationSlot(accountID: server.accountID, destinationID: destination.id, runID: request.runID)
            return SlotAnswer(granted: true, position: 0, expiresAt: now.addingTimeInterval(Self.lifetime), limit: nil)
        }
        let until = now.addingTimeInterval(Self.lifetime)
        let grant = try await hub.store.claimDestinationSlot(
            DestinationSlotClaim(
                accountID: server.accountID, serverID: server.id, destinationID: destination.id, jobID: job.id, runID: request.runID),
            limit: limit, until: until, now: now)
        return SlotAnswer(granted: grant.granted, position: grant.position, expiresAt: grant.expiresAt, limit: limit)
    }
}
