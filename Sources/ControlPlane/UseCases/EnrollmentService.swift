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
        let hubURL = hub.configuration.effectivePublicURL
        return EnrollmentCreated(
            enrollmentToken: token, secret: secret, command: Self.command(hubURL: hubURL, secret: secret),
            installCommand: AgentBuilds.oneLiner(hubURL: hubURL))
    }

    /// The line to paste on the box: the token reaches the agent on standard input through the
    /// shell's built-in printf, so it never appears in any process's argv (the process list).
    static func command(hubURL: String, secret: String) -> String {
        "printf '%s\\n' '\(secret)' | mzpanel-agent enroll --url \(hubURL) --token-file -"
    }
}
