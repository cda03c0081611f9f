import BackupCore
import ControlPlane
import Foundation
import HTTPTypes
import HummingbirdTesting
import Store
import Testing

@Suite("API: jobs")
struct APIJobTests {
    /// An account with servers web1 and db1 and local destinations nas and usb.
    static func setUp(_ hub: TestHub, _ client: any TestClientProtocol) async throws -> TestAccount {
        let account = try await hub.account("jobs-\(UUID().uuidString.prefix(8))@example.com")
        for server in ["web1", "db1"] {
            try #require(try await client.call(.post, "/api/v1/servers", token: account.token, body: #"{"name":"\#(server)"}"#).status == .created)
        }
        for destination in ["nas", "usb"] {
            let body = #"{"name":"\#(destination)","kind":"local","settings":{"path":"/srv/\#(destination)"}}"#
            try #require(try await client.call(.post, "/api/v1/destinations", token: account.token, body: body).status == .created)
        }
        return account
    }

    @Test func jobsAreCreatedShownUpdatedAndDeleted() async throws {
        try await withTestHub { hub, client in
            let account = try await Self.setUp(hub, client)
            let token = account.token
            let usb = try #require(try await client.call(.get, "/api/v1/destinations/usb", token: token).json["id"].string)
            let web1 = try #require(try await client.call(.get, "/api/v1/servers/web1", token: token).json["id"].string)
            let created = try await client.call(
                .post, "/api/v1/jobs", token: token,
                body: """
                    {"name":"site","server":"web1","kind":"full",
                     "sources":{"paths":["/var/www/","/etc"],"excludes":["*.tmp"],"databases":[{"engine":"postgresql","name":"shop","connection":"localhost:5432"}]},
                     "schedule":"*-*-* 02:30:00","timeZone":"Europe/Paris","retention":{"keepLast":3,"keepWithin":"2w"},"destinations":["usb","nas"]}
                    """)
            expectStatus(created, .created)
            let id = try #require(created.json["id"].string)
            #expect(ResourceID.looksLike(id, .job))
            #expect(created.json["serverID"].string == web1)
            #expect(created.json["destinationIDs"][0].string == usb, "destinations keep the order given")
            #expect(created.json["destinationIDs"].array.count == 2)
            #expect(created.json["sources"]["paths"].array.compactMap(\.string) == ["/var/www", "/etc"])
            #expect(created.json["sources"]["databases"][0]["engine"].string == "postgresql")
            #expect(created.json["schedule"]["timeZone"].string == "Europe/Paris")
            #expect(created.json["schedule"]["calendar"].string?.isEmpty == false)
            #expect(created.json["retention"]["keepWithin"].string == "14d", "durations are normalized")
            #expect(created.json["enabled"].bool == true)
            #expect(created.json["onCalendar"].string?.isEmpty == false)
            #expect(created.json["retentionSummary"].string?.isEmpty == false)

            for reference in [id, "site"] {
                let shown = try await client.call(.get, "/api/v1/jobs/\(reference)", token: token)
                expectStatus(shown, .ok)
                #expect(shown.json["id"].string == id)
                #expect(shown.json["name"].string == "site")
            }
            expectStatus(try await client.call(.get, "/api/v1/jobs/site?server=web1", token: token), .ok)
            expectError(try await client.call(.get, "/api/v1/jobs/site?server=db1", token: token), .notFound, code: "not_found")

            let patched = try await client.call(
                .patch, "/api/v1/jobs/site", token: token,
                body: #"{"name":"website","destinations":["nas"],"enabled":false,"retention":{"keepAll":true}}"#)
            expectStatus(patched, .ok)
            #expect(patched.json["name"].string == "website")
            #expect(patched.json["destinationIDs"].array.count == 1)
            #expect(patched.json["enabled"].bool == false)
            #expect(patched.json["nextRunAt"].isNull, "a disabled job has no next run")
            #expect(patched.json["retention"]["keepAll"].bool == true)
            #expect(patched.json["sources"]["paths"].array.count == 2, "omitted fields stay")
            let usbDetail = try await client.call(.get, "/api/v1/destinations/usb", token: token)
            #expect(usbDetail.json["jobs"].array.isEmpty, "the job no longer writes to usb")

            let schedule = try await client.call(.patch, "/api/v1/jobs/\(id)", token: token, body: #"{"schedule":"daily","timeZone":"UTC"}"#)
            expectStatus(schedule, .ok)
            #expect(schedule.json["schedule"]["timeZone"].string == "UTC")

            let deleted = try await client.call(.delete, "/api/v1/jobs/website", token: token)
            expectStatus(deleted, .ok)
            #expect(deleted.json["deleted"].bool == true)
            expectError(try await client.call(.get, "/api/v1/jobs/\(id)", token: token), .notFound, code: "not_found")
            expectError(try await client.call(.delete, "/api/v1/jobs/\(id)", token: token), .notFound, code: "not_found")
        }
    }

    @Test func jobsAreListedByServerAndDestination() async throws {
        try await withTestHub { hub, client in
            let account = try await Self.setUp(hub, client)
            let token = account.token
            func create(_ name: String, _ server: String, _ destinations: String) async throws -> String {
                let response = try await client.call(
                    .post, "/api/v1/jobs", token: token,
                    body: """
                        {"name":"\(name)","server":"\(server)","kind":"full","sources":{"paths":["/srv"]},"schedule":"daily","destinations":[\(destinations)]}
                        """)
                try #require(response.status == .created, "\(response)")
                return try #require(response.json["id"].string)
            }
            let a = try await create("a", "web1", #""nas""#)
            let b = try await create("b", "web1", #""usb","nas""#)
            let c = try await create("c", "db1", #""usb""#)

            #expect(Set(try await client.call(.get, "/api/v1/jobs", token: token).json["jobs"].ids) == [a, b, c])
            #expect(Set(try await client.call(.get, "/api/v1/jobs?server=web1", token: token).json["jobs"].ids) == [a, b])
            #expect(Set(try await client.call(.get, "/api/v1/jobs?destination=usb", token: token).json["jobs"].ids) == [b, c])
            #expect(try await client.call(.get, "/api/v1/jobs?server=db1&destination=nas", token: token).json["jobs"].ids == [])
            expectError(try await client.call(.get, "/api/v1/jobs?server=nope", token: token), .badRequest, code: "invalid", field: "server")
            expectError(try await client.call(.get, "/api/v1/jobs?destination=nope", token: token), .badRequest, code: "invalid")
        }
    }

    @Test func aNameOnTwoServersIsAmbiguous() async throws {
        try await withTestHub { hub, client in
            let account = try await Self.setUp(hub, client)
            let token = account.token
            var ids: [String: String] = [:]
            for server in ["web1", "db1"] {
                let response = try await client.call(
                    .post, "/api/v1/jobs", token: token,
                    body: """
                        {"name":"nightly","server":"\(server)","kind":"database","sources":{"databases":[{"engine":"mysql","name":"*"}]},"schedule":"daily","destinations":["nas"]}
                        """)
                expectStatus(response, .created)
                ids[server] = response.json["id"].string
            }
            expectError(
                try await client.call(
                    .post, "/api/v1/jobs", token: token,
                    body: """
                        {"name":"nightly","server":"db1","kind":"full","sources":{"paths":["/srv"]},"schedule":"daily","destinations":["nas"]}
                        """), .conflict, code: "conflict", field: "name")

            for method in [HTTPRequest.Method.get, .delete] {
                let ambiguous = try await client.call(method, "/api/v1/jobs/nightly", token: token)
                expectError(ambiguous, .conflict, code: "ambiguous")
                #expect(ambiguous.error["message"].string?.contains("server") == true)
            }
            let patch = try await client.call(.patch, "/api/v1/jobs/nightly", token: token, body: #"{"enabled":false}"#)
            expectError(patch, .conflict, code: "ambiguous")
            #expect(
                try await client.call(.get, "/api/v1/jobs", token: token).json["jobs"].array.allSatisfy { $0["enabled"].bool == true },
                "nothing changed")

            let scoped = try await client.call(.get, "/api/v1/jobs/nightly?server=db1", token: token)
            expectStatus(scoped, .ok)
            #expect(scoped.json["id"].string == ids["db1"])
            expectStatus(try await client.call(.get, "/api/v1/jobs/\(try #require(ids["web1"]))", token: token), .ok)
            expectStatus(try await client.call(.delete, "/api/v1/jobs/nightly?server=web1", token: token), .ok)
            let remaining = try await client.call(.get, "/api/v1/jobs/nightly", token: token)
            expectStatus(remaining, .ok)
            #expect(remaining.json["id"].string == ids["db1"])
        }
    }

    @Test func jobsCannotUseDestinationsThePlanNoLongerIncludes() async throws {
        try await withTestHub { hub, client in
            let account = try await hub.account("downgrade@example.com", plan: .plus)
            let token = account.token
            _ = try await client.call(.post, "/api/v1/servers", token: token, body: #"{"name":"web1"}"#)
            let s3 = try await client.call(
                .post, "/api/v1/destinations", token: token,
                body: #"{"name":"s3","kind":"s3","settings":{"endpoint":"https://s3.example.com","bucket":"bkt"}}"#)
            expectStatus(s3, .created)
            #expect(try await hub.store.setPlan(accountID: account.id, plan: .free))
            let job = try await client.call(
                .post, "/api/v1/jobs", token: token,
                body: """
                    {"name":"site","server":"web1","kind":"full","sources":{"paths":["/srv"]},"schedule":"daily","destinations":["s3"]}
                    """)
            expectError(job, HTTPResponse.Status(code: 402), code: "plan_required")
        }
    }
}
