import BackupCore
import ControlPlane
import Foundation
import HTTPTypes
import HummingbirdTesting
import Store
import Testing

/// One of everything an account owns, created through the API (runs and snapshots through the
/// store, as agents report them). Names start with `prefix` so another account's names differ.
struct AccountWorld: Sendable {
    let account: TestAccount
    let serverID: String, serverName: String
    let enrollmentTokenID: String
    let destinationID: String, destinationName: String
    let jobID: String, jobName: String
    let apiTokenID: String, apiTokenSecret: String
    let runID: String
    let snapshotID: String
    /// The server's agent credential and a command queued for it, when the hub has agent routes.
    let agentCredential: String?
    let commandID: String?
    let channelID: String, channelName: String
    /// The account's owner (its first member), an invitation waiting, and a browser session of the owner.
    let memberID: String
    let invitationID: String
    let sessionID: String

    static func build(_ hub: TestHub, _ client: any TestClientProtocol, account: TestAccount, prefix: String) async throws -> AccountWorld {
        let token = account.token
        let server = try await client.call(.post, "/api/v1/servers", token: token, body: #"{"name":"\#(prefix)-web"}"#)
        try #require(server.status == .created, "\(server)")
        let serverID = try #require(server.json["server"]["id"].string)
        let enrollment = try await client.call(
            .post, "/api/v1/servers/\(serverID)/enrollment-tokens", token: token, body: #"{"expiresInSeconds":600}"#)
        try #require(enrollment.status == .created, "\(enrollment)")
        // An offsite destination (Plus) with a key record, so envelopes can be sealed to the server.
        _ = try await hub.store.setPlan(accountID: account.id, plan: .plus)
        let destinationID = try await OffsiteFixture.create(client, token: token, name: "\(prefix)-nas")
        try await hub.giveKey(accountID: account.id, serverID: serverID, fingerprint: "key-\(prefix)")
        let envelope = try await client.call(
            .put, "/api/v1/destinations/\(destinationID)/envelopes/\(serverID)", token: token,
            body: #"{"keyID":"key-\#(prefix)","version":1,"ciphertext":"\#(Data("sealed for \(prefix)".utf8).base64EncodedString())"}"#)
        try #require(envelope.status == .ok, "\(envelope)")
        let job = try await client.call(
            .post, "/api/v1/jobs", token: token,
            body: """
                {"name":"\(prefix)-site","server":"\(prefix)-web","kind":"full","sources":{"paths":["/var/www"]},"schedule":"daily",
                 "retention":{"keepDaily":7},"destinations":["\(prefix)-nas"]}
                """)
        try #require(job.status == .created, "\(job)")
        let jobID = try #require(job.json["id"].string)
        let apiToken = try await client.call(.post, "/api/v1/tokens", token: token, body: #"{"name":"\#(prefix) automation"}"#)
        try #require(apiToken.status == .created, "\(apiToken)")

        let run = Run(
            id: ResourceID.make(.run), accountID: account.id, serverID: serverID, jobID: jobID, trigger: .timer,
            slot: hub.clock.now(), status: .succeeded, createdAt: hub.clock.now(), startedAt: hub.clock.now(),
            finishedAt: hub.clock.now().addingTimeInterval(30), bytesAdded: 10, bytesProcessed: 100, filesNew: 1,
            results: [DestinationResult(destinationID: destinationID, status: .succeeded, resticSnapshotIDs: ["r1"])])
        try await hub.store.insertRun(run)
        let snapshot = Snapshot(
            id: ResourceID.make(.snapshot), accountID: account.id, serverID: serverID, jobID: jobID, runID: run.id,
            createdAt: hub.clock.now(), copies: [SnapshotCopy(destinationID: destinationID, resticSnapshotIDs: ["r1"], bytesTotal: 1234)])
        try await hub.store.insertSnapshot(snapshot)

        // Enroll the server's agent and queue a command for it, when the hub serves agents.
        let routes = try hub.routeTable().map { "\($0.method) \($0.path)" }
        var agentCredential: String?
        var commandID: String?
        if routes.contains("POST /api/agent/v1/enroll") {
            let secret = try #require(server.json["enrollment"]["secret"].string)
            let key = Data((0..<32).map { _ in UInt8.random(in: 0...255) }).base64EncodedString()
            let enrolled = try await client.call(
                .post, "/api/agent/v1/enroll",
                body: """
                    {"token":"\(secret)","publicKey":"\(key)","keyFingerprint":"key-\(prefix)","hostname":"\(prefix).example.com","agentVersion":"0.0.0-test"}
                    """)
            try #require(enrolled.status == .created, "\(enrolled)")
            agentCredential = try #require(enrolled.json["credential"].string)
            if routes.contains("POST /api/v1/jobs/{job}/run") {
                let queued = try await client.call(.post, "/api/v1/jobs/\(jobID)/run", token: token)
                try #require(queued.status == .accepted, "\(queued)")
                let commands = try await client.call(.get, "/api/agent/v1/commands?wait=0", headers: [.authorization: "Agent \(agentCredential!)"])
                try #require(commands.status == .ok, "\(commands)")
                commandID = commands.json["commands"][0]["id"].string
            }
        }

        let channel = try await client.call(
            .post, "/api/v1/notifications/channels", token: token,
            body: #"{"name":"\#(prefix)-hook","url":"https://hooks.example.com/\#(prefix)"}"#)
        try #require(channel.status == .created, "\(channel)")
        let members = try await client.call(.get, "/api/v1/members", token: token)
        try #require(members.status == .ok, "\(members)")
        let invitation = try await client.call(
            .post, "/api/v1/invitations", token: token, body: #"{"email":"\#(prefix)-invitee@example.com","role":"viewer"}"#)
        try #require(invitation.status == .created, "\(invitation)")
        let login = try await client.call(
            .post, "/api/v1/session", body: #"{"email":"\#(account.email)","password":"\#(account.password)"}"#)
        try #require(login.status == .created, "\(login)")
        let sessions = try await hub.store.sessions(accountID: account.id, userID: nil, now: hub.clock.now())
        return AccountWorld(
            account: account, serverID: serverID, serverName: "\(prefix)-web",
            enrollmentTokenID: try #require(enrollment.json["enrollmentToken"]["id"].string),
            destinationID: destinationID, destinationName: "\(prefix)-nas", jobID: jobID, jobName: "\(prefix)-site",
            apiTokenID: try #require(apiToken.json["token"]["id"].string), apiTokenSecret: try #require(apiToken.json["secret"].string),
            runID: run.id, snapshotID: snapshot.id, agentCredential: agentCredential, commandID: commandID,
            channelID: try #require(channel.json["channel"]["id"].string), channelName: "\(prefix)-hook",
            memberID: try #require(members.json["members"][0]["id"].string),
            invitationID: try #require(invitation.json["invitation"]["id"].string), sessionID: try #require(sessions.first?.id)
        )
    }

    /// Every id and name of this world: none may appear in another account's answers.
    var identifiers: [String] {
        [serverID, serverName, enrollmentTokenID, destinationID, destinationName, jobID, jobName, apiTokenID, runID, snapshotID, account.id]
            + [commandID].compactMap { $0 } + [memberID, invitationID, sessionID]
    }

    /// What the owner sees of everything, to compare before and after another account's attempts.
    func state(_ client: any TestClientProtocol) async throws -> [String: JSONValue] {
        var state: [String: JSONValue] = [:]
        for path in [
            "/api/v1/servers/\(serverID)", "/api/v1/servers/\(serverID)/enrollment-tokens", "/api/v1/destinations/\(destinationID)",
            "/api/v1/destinations/\(destinationID)/envelopes", "/api/v1/destinations/\(destinationID)/envelopes/\(serverID)",
            "/api/v1/jobs/\(jobID)", "/api/v1/runs/\(runID)", "/api/v1/snapshots/\(snapshotID)", "/api/v1/servers", "/api/v1/destinations",
            "/api/v1/jobs", "/api/v1/runs", "/api/v1/snapshots", "/api/v1/fleet", "/api/v1/account", "/api/v1/members", "/api/v1/sessions",
        ] {
            let response = try await client.call(.get, path, token: account.token)
            #expect(response.status == .ok, "\(path): \(response)")
            state[path] = response.json
        }
        // The token listing carries lastUsedAt, which the reads above just set: compare ids and revocation only.
        let tokens = try await client.call(.get, "/api/v1/tokens", token: account.token)
        state["/api/v1/tokens"] = .array(tokens.json["tokens"].array.map { .object(["id": $0["id"], "revokedAt": $0["revokedAt"]]) })
        return state
    }
}

/// An s3 destination with a (shape-valid) key record: what a sealing client leaves on the hub.
enum OffsiteFixture {
    static let keyRecord =
        #"{"credentialKey":{"v":1,"wrappedKey":{"nonce":"AAAAAAAAAAAAAAAA","ct":"\#(Data(count: 48).base64EncodedString())"},"credential":{"nonce":"AAAAAAAAAAAAAAAA","ct":"\#(Data(count: 64).base64EncodedString())"}}}"#

    static func create(_ client: any TestClientProtocol, token: String, name: String) async throws -> String {
        let destination = try await client.call(
            .post, "/api/v1/destinations", token: token,
            body: #"{"name":"\#(name)","kind":"s3","settings":{"endpoint":"https://s3.example.com","bucket":"backups"}}"#)
        try #require(destination.status == .created, "\(destination)")
        let id = try #require(destination.json["id"].string)
        let keyed = try await client.call(.patch, "/api/v1/destinations/\(id)", token: token, body: keyRecord)
        try #require(keyed.status == .ok, "\(keyed)")
        return id
    }
}
