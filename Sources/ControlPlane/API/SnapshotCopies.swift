import BackupCore
import Foundation
import LinkProtocol
import Store

/// Finding a snapshot's copy and what a server needs to open it — shared by restores and browsing.
struct SnapshotCopies {
    let hub: HubServices

    /// The snapshot, the chosen copy (a destination's, or the first) and its destination.
    /// `inPath`: the snapshot was named in the URL (404 when unknown), not in a body (400).
    func resolve(snapshot reference: String, destination: String?, accountID: String, inPath: Bool = false) async throws -> (Snapshot, SnapshotCopy, Destination) {
        guard let snapshot = try await hub.store.snapshot(accountID: accountID, id: reference) else {
            if inPath { throw APIError.notFound(.snapshot, reference) }
            throw APIError(.badRequest, code: "invalid", "no snapshot \"\(reference)\" in this account; see mzpanel snapshots list", field: "snapshot")
        }
        var copy = snapshot.copies.first
        if let destination {
            guard let chosen = try await hub.store.destination(accountID: accountID, reference: destination) else {
                throw APIError(.badRequest, code: "invalid", "no destination \"\(destination)\" in this account", field: "destination")
            }
            copy = snapshot.copies.first { $0.destinationID == chosen.id }
            guard copy != nil else {
                throw APIError(.badRequest, code: "invalid", "snapshot \(snapshot.id) has no copy at \(chosen.name); it has copies at \(snapshot.copies.map(\.destinationID).joined(separator: ", "))", field: "destination")
            }
        }
        guard let copy, let found = try await hub.store.destination(accountID: accountID, reference: copy.destinationID) else {
            throw APIError(.conflict, code: "no_copy", "snapshot \(snapshot.id) has no copy left (its destinations were removed)")
        }
        return (snapshot, copy, found)
    }

    /// What `server` needs to open the copy's repository: the envelope sealed to it (offsite) and
    /// a peer's certificate; refuses what cannot work, saying what to do.
    func access(_ destination: Destination, snapshot: Snapshot, server: Server, accountID: String) async throws -> (SealedEnvelope?, String?) {
        guard server.enrolledAt != nil else {
            throw APIError(.conflict, code: "not_enrolled", "server \(server.name) has no agent yet; enroll it first", field: "server")
        }
        if server.id != snapshot.serverID, !destination.kind.isOffsite {
            throw APIError(.conflict, code: "not_portable", "\(destination.name) is a local destination: only the server that made the backup can open its repository there; use an offsite copy (--destination), or that server", field: "server")
        }
        var envelope: SealedEnvelope?
        if destination.kind.isOffsite {
            envelope = try await hub.store.envelopes(accountID: accountID, destinationID: destination.id).first { $0.serverID == server.id }
            guard envelope != nil else {
                throw APIError(.conflict, code: "not_sealed", "\(destination.name) is not sealed to \(server.name) yet; seal it first: mzpanel destinations attach \(destination.name) --server \(server.name)", field: "server")
            }
            // A peer repository is behind its own server's login: another server needs a recovery login.
            if destination.kind == .peer, server.id != snapshot.serverID, envelope?.recoveryLogin?.hasPrefix(snapshot.serverID + ":") != true {
                throw APIError(.conflict, code: "not_sealed", "\(server.name) has no recovery login for \(snapshot.serverID)'s repository at \(destination.name); seal it for recovery: mzpanel destinations attach \(destination.name) --server \(server.name) --recover-from \(snapshot.serverID) (the lost server can then no longer write there)", field: "server")
            }
        }
        let certificate = destination.kind == .peer ? try await hub.store.peerReports(accountID: accountID)[destination.id]?.certificate : nil
        return (envelope, certificate)
    }
}
