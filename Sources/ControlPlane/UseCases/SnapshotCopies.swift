import BackupCore
import Foundation
import LinkProtocol
import Store

/// Finding a snapshot's copy and what a server needs to open it — shared by restores and browsing.
struct SnapshotCopies {
    let hub: HubServices

    /// The snapshot, the chosen copy (a destination's, or the first) and its destination.
    /// `inPath`: the snapshot was named in the URL (404 when unknown), not in a body (400).
    func resolve(snapshot reference: String, destination: String?, accountID: String, inPath: Bool = false) async throws -> (
        Snapshot, SnapshotCopy, Destination
    ) {
        guard let snapshot = try await hub.store.snapshot(accountID: accountID, id: reference) else {
            if inPath { throw DomainError(.notFound, "no snapshot \"\(reference)\" in this account") }
            throw DomainError.invalid("snapshot", "no snapshot \"\(reference)\" in this account; see mzpanel snapshots list")
        }
        var copy = snapshot.copies.first
        if let destination {
            guard let chosen = try await hub.store.destination(accountID: accountID, reference: destination) else {
                throw DomainError.invalid("destination", "no destination \"\(destination)\" in this account")
            }
            copy = snapshot.copies.first { $0.destinationID == chosen.id }
            guard copy != nil else {
                throw DomainError.invalid(
                    "destination",
                    "snapshot \(snapshot.id) has no copy at \(chosen.name); it has copies at \(snapshot.copies.map(\.destinationID).joined(separator: ", "))"
                )
            }
        }
        guard let copy, let found = try await hub.store.destination(accountID: accountID, reference: copy.destinationID) else {
            throw DomainError(.conflict, "snapshot \(snapshot.id) has no copy left (its destinations were removed)", reason: "no_copy")
        }
        return (snapshot, copy, found)
    }

    /// What `server` needs to open the copy's repository: the envelope sealed to it (offsite) and
    /// a peer's certificate; refuses what cannot work, saying what to do.
    func access(_ destination: Destination, snapshot: Snapshot, server: Server, accountID: String) async throws -> (SealedEnvelope?, String?) {
        guard server.enrolledAt != nil else {
            throw DomainError(.conflict, field: "server", "server \(server.name) has no agent yet; enroll it first", reason: "not_enrolled")
        }
        if server.id != snapshot.serverID, !destination.kind.isOffsite {
            throw DomainError(
                .conflict, field: "server",
                "\(destination.name) is a local destination: only the server that made the backup can open its repository there; use an offsite copy (--destination), or that server",
                reason: "not_portable")
        }
        var envelope: SealedEnvelope?
        if destination.kind.isOffsite {
            envelope = try await hub.store.envelopes(accountID: accountID, destinationID: destination.id).first { $0.serverID == server.id }
            guard envelope != nil else {
                throw DomainError(
                    .conflict, field: "server",
                    "\(destination.name) is not sealed to \(server.name) yet; seal it first: mzpanel destinations attach \(destination.name) --server \(server.name)",
                    reason: "not_sealed")
            }
            // A peer repository is behind its own server's login: another server needs a recovery login.
            if destination.kind == .peer, server.id != snapshot.serverID, envelope?.recoveryLogin?.hasPrefix(snapshot.serverID + ":") != true {
                throw DomainError(
                    .conflict, field: "server",
                    "\(server.name) has no recovery login for \(snapshot.serverID)'s repository at \(destination.name); seal it for recovery: mzpanel destinations attach \(destination.name) --server \(server.name) --recover-from \(snapshot.serverID) (the lost server can then no longer write there)",
                    reason: "not_sealed")
            }
        }
        let certificate = destination.kind == .peer ? try await hub.store.peerReports(accountID: accountID)[destination.id]?.certificate : nil
        return (envelope, certificate)
    }
}
