import ControlPlane
import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing

@Suite("API: agent versions, outdated agents and upgrades")
struct APIAgentUpgradeTests {
    /// Enrolls an agent for a new server as `mzpanel-agent enroll` would; answers the server id and agent credential.
    func enroll(_ client: some TestClientProtocol, token: String, name: String, version: String) async throws -> (String, String) {
        let created = try await client.call(.post, "/api/v1/servers", token: token, body: #"{"name":"\#(name)"}"#)
        let secret = try #require(created.json["enrollment"]["secret"].string)
        let key = Data((0..<32).map { _ in UInt8.random(in: 0...255) }).base64EncodedString()
        let enrolled = try await client.call(
            .post, "/api/agent/v1/enroll",
            body: #"{"token":"\#(secret)","publicKey":"\#(key)","keyFingerprint":"fp-\#(name)","hostname":"\#(name)","agentVersion":"\#(version)"}"#)
        expectStatus(enrolled, .created)
        return (try #require(created.json["server"]["id"].string), try #require(enrolled.json["credential"].string))
    }

    @Test("each agent call records the version it names; the hub marks agents off its build and queues upgrades for them only")
    func versionsAndUpgrades() async throws {
        let (directory, sha256) = try AgentDistributionTests.buildDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let configure: (inout HubConfiguration) -> Void = { $0.agentDirectory = directory.path }
        try await withTestHub(configure: configure) { hub, client in
            let account = try await hub.account("upgrades@example.com")
            let current = "0.1.0+\(sha256.prefix(12))"
            let (oldID, credential) = try await enroll(client, token: account.token, name: "web-1", version: "0.1.0+0123456789ab")
            let (currentID, _) = try await enroll(client, token: account.token, name: "web-2", version: current)
            let (ancientID, _) = try await enroll(client, token: account.token, name: "web-3", version: "0.1.0")
            _ = try await client.call(.post, "/api/v1/servers", token: account.token, body: #"{"name":"web-4"}"#)

            let list = try await client.call(.get, "/api/v1/servers", token: account.token)
            let outdated = Dictionary(uniqueKeysWithValues: list.json["servers"].array.map { ($0["name"].string ?? "", $0["agentOutdated"].bool) })
            #expect(outdated == ["web-1": true, "web-2": false, "web-3": true, "web-4": nil])

            expectStatus(try await client.call(.post, "/api/v1/servers/\(currentID)/upgrade", token: account.token), .conflict)
            expectStatus(try await client.call(.post, "/api/v1/servers/\(ancientID)/upgrade", token: account.token), .conflict)
            expectStatus(try await client.call(.post, "/api/v1/servers/web-4/upgrade", token: account.token), .conflict)
            let started = try await client.call(.post, "/api/v1/servers/\(oldID)/upgrade", token: account.token)
            expectStatus(started, .accepted)
            #expect(started.json["toBuildID"].string == String(sha256.prefix(12)))
            #expect(started.json["fromVersion"].string == "0.1.0+0123456789ab")

            // The agent takes the command, with the build's SHA-256.
            var headers = HTTPFields()
            headers[.authorization] = "Agent \(credential)"
            headers[.userAgent] = "mzpanel-agent/\(current)"
            let commands = try await client.call(.get, "/api/agent/v1/commands?wait=0", headers: headers)
            let command = try #require(commands.json["commands"].array.first)
            #expect(command["kind"].string == "upgradeAgent")
            #expect(command["upgrade"]["builds"]["amd64"].string == sha256)

            // That call named the new version: the hub shows it, and the agent is current.
            let shown = try await client.call(.get, "/api/v1/servers/\(oldID)", token: account.token)
            #expect(shown.json["agentVersion"].string == current)
            #expect(shown.json["agentOutdated"].bool == false)

            headers[.userAgent] = "mzpanel-agent/0.1.0 <script>"
            _ = try await client.call(.get, "/api/agent/v1/commands?wait=0", headers: headers)
            let kept = try await client.call(.get, "/api/v1/servers/\(oldID)", token: account.token)
            #expect(kept.json["agentVersion"].string == current, "a malformed version is ignored")
        }
    }
}
