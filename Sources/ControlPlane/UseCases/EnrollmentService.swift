import BackupCore
import Foundation
import HubAPI
import LinkProtocol
import Store

/// Enrolling a server's agent: tokens the hub issues once and stores only as hashes.
struct EnrollmentService {
    let hub: HubServices

    /// A one-time enrollment token for the server and the command that uses it on the box.
    func issue(for server: Server, lifetime: Int) async throws -> EnrollmentCreated {
        let secret = Secrets.make(prefix: Secrets.enrollmentPrefix)
        let now = hub.clock.now()
        let token = EnrollmentToken(
            id: ResourceID.make(.enrollmentToken), accountID: server.accountID, serverID: server.id,
            createdAt: now, expiresAt: now.addingTimeInterval(TimeInterval(lifetime)))
        try await hub.store.createEnrollmentToken(token, hash: Secrets.hash(secret))
        let command = "mzpanel-agent enroll --url \(hub.configuration.effectivePublicURL) --token \(secret)"
        return EnrollmentCreated(enrollmentToken: token, secret: secret, command: command)
    }
}
