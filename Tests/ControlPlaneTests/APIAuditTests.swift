import BackupCore
import Foundation
import HTTPTypes
import Testing

@testable import ControlPlane

/// Every change lands in the audit log with who did it; the log never holds a secret.
@Suite("API: audit log") struct APIAuditTests {
    @Test func changesAreRecordedWithTheirActorAndResource() async throws {
        try await withTestHub { hub, client in
            let account = try await hub.account("audit@example.com")
            let token = account.token
            let server = try await client.call(.post, "/api/v1/servers", token: token, body: #"{"name":"web1"}"#)
            let serverID = try #require(server.json["server"]["id"].string)
            _ = try await client.call(.post, "/api/v1/destinations", token: token, body: #"{"name":"nas","kind":"local","settings":{"path":"/srv"}}"#)
            let job = try await client.call(
                .post, "/api/v1/jobs", token: token,
                body: """
                    {"name":"site","server":"web1","kind":"full","sources":{"paths":["/var/www"]},"schedule":"daily","destinations":["nas"]}
                    """)
            let jobID = try #require(job.json["id"].string)
            let channel = try await client.call(
                .post, "/api/v1/notifications/channels", token: token, body: #"{"name":"hook","url":"https://hooks.example.com/x"}"#)
            let secret = try #require(channel.json["secret"].string)
            _ = try await client.call(.delete, "/api/v1/jobs/\(jobID)", token: token)
            // Refused and read-only calls are not changes.
            _ = try await client.call(.post, "/api/v1/jobs", token: token, body: #"{"name":"bad"}"#)
            _ = try await client.call(.get, "/api/v1/jobs", token: token)

            let log = try await client.call(.get, "/api/v1/audit", token: token)
            let events = log.json["events"].array
            let actions = events.compactMap { $0["action"].string }
            #expect(
                actions == [
                    "Delete a job (its runs and snapshots stay listed)", "Add a notification channel; answers its signing secret once",
                    "Create a job", "Create a destination (offsite kinds need Plus)",
                    "Add a server; answers its first enrollment token and the agent command",
                ],
                "\(actions)")
            #expect(events.allSatisfy { $0["actor"].string?.hasPrefix("API token") == true })
            #expect(events.first { $0["action"].string == "Create a job" }?["resourceID"].string == jobID)
            #expect(events.last?["resourceID"].string == serverID)
            #expect(!log.text.contains(secret), "the channel's secret is not in the audit log")

            let filtered = try await client.call(.get, "/api/v1/audit?resource=\(jobID)", token: token)
            #expect(filtered.json["events"].array.count == 2, "created and deleted")
            let other = try await hub.account("other-audit@example.com")
            #expect(try await client.call(.get, "/api/v1/audit", token: other.token).json["events"].array.isEmpty, "another account sees none of it")
        }
    }
}
