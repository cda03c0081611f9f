import BackupCore
import ControlPlane
import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing

/// Stale thresholds, ping URLs and check jobs through the API: stored, shown, validated.
@Suite("API: job settings")
struct APIJobSettingsTests {
    @Test func staleThresholdAndPingURLAreStoredAndValidated() async throws {
        try await withTestHub { hub, client in
            let account = try await APIJobTests.setUp(hub, client)
            let token = account.token
            let created = try await client.call(
                .post, "/api/v1/jobs", token: token,
                body: """
                    {"name":"site","server":"web1","kind":"full","sources":{"paths":["/srv"]},"schedule":"daily","destinations":["nas"],
                     "staleAfter":93600,"pingURL":"https://hc-ping.example/5f1b"}
                    """)
            expectStatus(created, .created)
            #expect(created.json["staleAfter"].int == 93_600)
            #expect(created.json["pingURL"].string == "https://hc-ping.example/5f1b")
            let shown = try await client.call(.get, "/api/v1/jobs/site", token: token)
            #expect(shown.json["staleAfter"].int == 93_600)
            #expect(shown.json["health"].string == "offline", "web1 has no agent yet")
            #expect(try await client.call(.get, "/api/v1/servers/web1", token: token).json["health"].string == "not_enrolled")
            #expect(
                try await client.call(.get, "/api/v1/servers", token: token).json["servers"].array.allSatisfy {
                    $0["health"].string == "not_enrolled"
                })

            expectError(
                try await client.call(.patch, "/api/v1/jobs/site", token: token, body: #"{"staleAfter":60}"#), .badRequest, field: "staleAfter")
            expectError(
                try await client.call(.patch, "/api/v1/jobs/site", token: token, body: #"{"pingURL":"ftp://x"}"#), .badRequest, field: "pingURL")
            expectError(
                try await client.call(.patch, "/api/v1/jobs/site", token: token, body: #"{"checkSubsets":4}"#), .badRequest, field: "checkSubsets")
            #expect(
                try await client.call(.get, "/api/v1/jobs/site", token: token).json["staleAfter"].int == 93_600, "a refused change changes nothing")

            let cleared = try await client.call(.patch, "/api/v1/jobs/site", token: token, body: #"{"staleAfter":0,"pingURL":""}"#)
            expectStatus(cleared, .ok)
            #expect(cleared.json["staleAfter"].isNull)
            #expect(cleared.json["pingURL"].isNull)
        }
    }

    @Test func checkJobsTakeNoSourcesAndDefaultToTenParts() async throws {
        try await withTestHub { hub, client in
            let account = try await APIJobTests.setUp(hub, client)
            let token = account.token
            let created = try await client.call(
                .post, "/api/v1/jobs", token: token,
                body: #"{"name":"verify","server":"web1","kind":"check","schedule":"weekly","destinations":["nas","usb"]}"#)
            expectStatus(created, .created)
            #expect(created.json["kind"].string == "check")
            #expect(created.json["checkSubsets"].int == Job.defaultCheckSubsets)
            let changed = try await client.call(.patch, "/api/v1/jobs/verify", token: token, body: #"{"checkSubsets":1}"#)
            expectStatus(changed, .ok)
            #expect(changed.json["checkSubsets"].int == 1)

            expectError(
                try await client.call(
                    .post, "/api/v1/jobs", token: token,
                    body: """
                        {"name":"bad","server":"web1","kind":"check","sources":{"paths":["/srv"]},"schedule":"weekly","destinations":["nas"]}
                        """), .badRequest, field: "sources")
            expectError(
                try await client.call(
                    .post, "/api/v1/jobs", token: token,
                    body: """
                        {"name":"bad","server":"web1","kind":"check","schedule":"weekly","destinations":["nas"],"checkSubsets":0}
                        """), .badRequest, field: "checkSubsets")
            expectError(
                try await client.call(
                    .post, "/api/v1/jobs", token: token,
                    body: """
                        {"name":"bad","server":"web1","kind":"check","schedule":"weekly","destinations":["nas"],"staleAfter":86400}
                        """), .badRequest, field: "staleAfter")
            // Turning a check job into a backup job drops its rotation.
            let backup = try await client.call(.patch, "/api/v1/jobs/verify", token: token, body: #"{"kind":"full","sources":{"paths":["/srv"]}}"#)
            expectStatus(backup, .ok)
            #expect(backup.json["checkSubsets"].isNull)
        }
    }

    @Test func emailChannelsKeepTheirPasswordToThemselves() async throws {
        try await withTestHub { hub, client in
            let account = try await APIJobTests.setUp(hub, client)
            let token = account.token
            let created = try await client.call(
                .post, "/api/v1/notifications/channels", token: token,
                body: """
                    {"name":"ops-mail","kind":"email","url":"smtp://mail.example.com:587","smtpPassword":"pw-very-secret",
                     "email":{"from":"backups@example.com","to":["ops@example.com"],"username":"backups"},"rules":{"digestHour":7,"stale":false}}
                    """)
            expectStatus(created, .created)
            #expect(created.json["secret"].isNull, "an email channel answers no signing secret")
            #expect(!created.text.contains("pw-very-secret"))
            #expect(created.json["channel"]["email"]["to"][0].string == "ops@example.com")
            #expect(created.json["channel"]["rules"]["digestHour"].int == 7)
            #expect(created.json["channel"]["rules"]["missed"].bool == true, "omitted rules take their defaults")
            let listed = try await client.call(.get, "/api/v1/notifications/channels", token: token)
            #expect(!listed.text.contains("pw-very-secret"))

            let patched = try await client.call(
                .patch, "/api/v1/notifications/channels/ops-mail", token: token,
                body: #"{"rules":{"failures":3},"email":{"from":"backups@example.com","to":["a@example.com","b@example.com"]}}"#)
            expectStatus(patched, .ok)
            #expect(patched.json["rules"]["failures"].int == 3)
            #expect(patched.json["email"]["to"].array.count == 2)

            for (body, field) in [
                (#"{"name":"m2","kind":"email","url":"https://x.example","email":{"from":"a@example.com","to":["b@example.com"]}}"#, "url"),
                (#"{"name":"m2","kind":"email","url":"smtp://x.example"}"#, "email"),
                (#"{"name":"m2","kind":"email","url":"smtp://x.example","email":{"from":"nobody","to":["b@example.com"]}}"#, "email.from"),
                (#"{"name":"m2","kind":"email","url":"smtp://x.example","email":{"from":"a@example.com","to":[]}}"#, "email.to"),
                (#"{"name":"h2","url":"https://x.example","email":{"from":"a@example.com","to":["b@example.com"]}}"#, "email"),
                (#"{"name":"h2","url":"https://x.example","rules":{"digestHour":24}}"#, "rules.digestHour"),
            ] {
                expectError(try await client.call(.post, "/api/v1/notifications/channels", token: token, body: body), .badRequest, field: field)
            }
            expectError(try await client.call(.patch, "/api/v1/notifications/channels/nope", token: token, body: #"{"name":"x"}"#), .notFound)
        }
    }
}
