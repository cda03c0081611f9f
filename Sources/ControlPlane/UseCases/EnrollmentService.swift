import BackupCore
import Foundation
import HubAPI
import LinkProtocol
import Sealing
import Store

/// Enrolling a server's agent: tokens the hub issues once and stores only as hashes.
struct EnrollmentService {
    let hub: HubServices

    /// A one-time enrollment token for the server and the command that uses it on the box.
    func issue(for server: Server, lifetime: Int) async throws -> EnrollmentCreated {
        try Access.require(.manageServers)
        let secret = Secrets.make(prefix: Secrets.enrollmentPrefix)
        let now = hub.clock.now()
        let token = EnrollmentToken(
            id: ResourceID.make(.enrollmentToken), accountID: server.accountID, serverID: server.id,
            createdAt: now, expiresAt: now.addingTimeInterval(TimeInterval(lifetime)))
        try await hub.store.createEnrollmentToken(token, hash: Secrets.hash(secret))
        let accountKey = try await ManifestService(hub: hub).accountKey(accountID: server.accountID).map(KeyFingerprint.of)
        let hubURL = hub.configuration.effectivePublicURL
        return EnrollmentCreated(
            enrollmentToken: token, secret: secret, command: Self.command(hubURL: hubURL, secret: secret, accountKey: accountKey),
            installCommand: AgentBuilds.oneLiner(hubURL: hubURL, accountKey: accountKey),
            privateCAInstallCommand: hubURL.lowercased().hasPrefix("https://")
                ? AgentBuilds.privateCAOneLiner(hubURL: hubURL, accountKey: accountKey) : nil)
    }

    /// The line to paste on the box: the token reaches the agent on standard input through the
    /// shell's built-in printf, so it never appears in any process's argv (the process list). With
    /// the account key's fingerprint, the agent pins that key and no other.
    static func command(hubURL: String, secret: String, accountKey: String? = nil) -> String {
        "printf '%s\\n' '\(secret)' | mzpanel-agent enroll --url \(hubURL) --token-file -" + (accountKey.map { " --account-key \($0)" } ?? "")
    }
}
