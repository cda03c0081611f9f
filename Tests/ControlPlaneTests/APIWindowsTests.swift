import BackupCore
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Store
import Testing

@testable import ControlPlane

/// Backup windows, spread and concurrency caps through the API: stored, validated with the field
/// named, previewed, and the agents' destination slots confined to their own account and jobs.
@Suite("API: windows, spread and concurrency caps")
struct APIWindowsTests {
    @Test func windowSpreadAndCapsAreStoredValidatedAndPreviewed() async throws {
        try await withTestHub { hub, client in
            let account = try await APIJobTests.setUp(hub, client)
            let token = account.token
            let created = try await client.call(
                .post, "/api/v1/jobs", token: token,
                body: """
                    {"name":"site","server":"web1","kind":"full","sources":{"paths":["/srv"]},"schedule":"daily 23:00","timeZone":"Europe/Berlin",
                     "destinations":["nas"],"window":"01:00-05:00","spread":"30m"}
                    """)
            expectStatus(created, .created)
            #expect(created.json["window"].string == "01:00-05:00")
            #expect(created.json["spreadSeconds"].int == 1800)
            let jobID = try #require(created.json["id"].string)
            let next = try #require(created.json["nextRunAt"].string)
            let start = try #require(HubJSONDate.parse(next))
            let offset = ScheduleSpread.offset(jobID: jobID, seconds: 1800)
            var calendar = Calendar(identifier: .gregorian)
            calendar.timeZone = TimeZone(identifier: "Europe/Berlin")!
            let local = calendar.dateComponents([.hour, .minute, .second], from: start.addingTimeInterval(TimeInterval(-offset)))
            #expect(local.hour == 1 && local.minute == 0 && local.second == 0, "nextRunAt is the window's opening plus the offset: \(next)")

            for (body, field) in [
                (#"{"window":"25:00-05:00"}"#, "window"), (#"{"window":"01:00"}"#, "window"), (#"{"window":"02:00-02:00"}"#, "window"),
                (#"{"spread":"13h"}"#, "spread"), (#"{"spread":"soon"}"#, "spread"),
            ] {
                expectError(try await client.call(.patch, "/api/v1/jobs/site", token: token, body: body), .badRequest, field: field)
            }
            let cleared = try await client.call(.patch, "/api/v1/jobs/site", token: token, body: #"{"window":"off","spread":"off"}"#)
            expectStatus(cleared, .ok)
            #expect(cleared.json["window"].isNull && cleared.json["spreadSeconds"].isNull)

            let preview = try await client.call(
                .post, "/api/v1/schedules/preview", token: token,
                body: #"{"schedule":"daily 23:00","timeZone":"UTC","window":"01:00-05:00","count":2,"from":"2026-06-01T00:00:00.000Z"}"#)
            expectStatus(preview, .ok)
            #expect(preview.json["next"][0].string == "2026-06-01T01:00:00.000Z", "the slot before `from` is held until after it: \(preview)")
            #expect(preview.json["slots"][0].string == "2026-05-31T23:00:00.000Z")
            #expect(preview.json["next"][1].string == "2026-06-02T01:00:00.000Z")
            #expect(preview.json["plan"].string?.contains("window 01:00-05:00") == true)
            expectError(
                try await client.call(.post, "/api/v1/schedules/preview", token: token, body: #"{"schedule":"daily","spread":"x"}"#),
                .badRequest, field: "spread")

            let capped = try await client.call(.patch, "/api/v1/destinations/nas", token: token, body: #"{"maxConcurrentRuns":2}"#)
            expectStatus(capped, .ok)
            #expect(capped.json["maxConcurrentRuns"].int == 2)
            expectError(
                try await client.call(.patch, "/api/v1/destinations/nas", token: token, body: #"{"maxConcurrentRuns":1001}"#), .badRequest,
                field: "maxConcurrentRuns")
            let uncapped = try await client.call(.patch, "/api/v1/destinations/nas", token: token, body: #"{"maxConcurrentRuns":0}"#)
            #expect(uncapped.json["maxConcurrentRuns"].isNull)
            let server = try await client.call(.patch, "/api/v1/servers/web1", token: token, body: #"{"maxConcurrentRuns":1}"#)
            expectStatus(server, .ok)
            #expect(server.json["maxConcurrentRuns"].int == 1)
            expectError(
                try await client.call(.patch, "/api/v1/servers/web1", token: token, body: #"{"maxConcurrentRuns":-1}"#), .badRequest,
                field: "maxConcurrentRuns")
        }
    }

    @Test func agentsClaimSlotsOnlyForTheirOwnJobsAndDestinations() async throws {
        try await withTestHub { hub, client in
            let alpha = try await AccountWorld.build(hub, client, account: try await hub.account("alpha@example.com", plan: .plus), prefix: "alpha")
            let bravo = try await AccountWorld.build(hub, client, account: try await hub.account("bravo@example.com", plan: .plus), prefix: "bravo")
            let agent: HTTPFields = [.authorization: "Agent \(try #require(alpha.agentCredential))"]
            expectStatus(
                try await client.call(
                    .patch, "/api/v1/destinations/\(alpha.destinationID)", token: alpha.account.token, body: #"{"maxConcurrentRuns":1}"#), .ok)
            let claim = { (destination: String, job: String, run: String) in
                #"{"destinationID":"\#(destination)","jobID":"\#(job)","runID":"\#(run)"}"#
            }
            let first = try await client.call(
                .post, "/api/agent/v1/destination-slots", body: claim(alpha.destinationID, alpha.jobID, "run_one"), headers: agent)
            expectStatus(first, .ok)
            #expect(first.json["granted"].bool == true && first.json["limit"].int == 1)
            let second = try await client.call(
                .post, "/api/agent/v1/destination-slots", body: claim(alpha.destinationID, alpha.jobID, "run_two"), headers: agent)
            #expect(second.json["granted"].bool == false && second.json["position"].int == 1, "\(second)")
            // Another account's destination or job: not found, never a slot.
            expectStatus(
                try await client.call(
                    .post, "/api/agent/v1/destination-slots", body: claim(bravo.destinationID, bravo.jobID, "run_x"), headers: agent), .notFound)
            expectStatus(
                try await client.call(
                    .post, "/api/agent/v1/destination-slots", body: claim(alpha.destinationID, bravo.jobID, "run_x"), headers: agent), .notFound)
            expectStatus(
                try await client.call(.post, "/api/agent/v1/destination-slots", body: claim(alpha.destinationID, alpha.jobID, "run_one")),
                .unauthorized)
            // Released: the next in line gets it.
            let released = try await client.call(
                .post, "/api/agent/v1/destination-slots",
                body: #"{"destinationID":"\#(alpha.destinationID)","jobID":"\#(alpha.jobID)","runID":"run_one","release":true}"#, headers: agent)
            expectStatus(released, .ok)
            let promoted = try await client.call(
                .post, "/api/agent/v1/destination-slots", body: claim(alpha.destinationID, alpha.jobID, "run_two"), headers: agent)
            #expect(promoted.json["granted"].bool == true, "\(promoted)")
            // The job set carries the caps to the agent.
            let jobs = try await client.call(.get, "/api/agent/v1/jobs", headers: agent)
            #expect(jobs.json["jobs"][0]["destinations"][0]["maxConcurrentRuns"].int == 1, "\(jobs)")
        }
    }
}

/// ISO-8601 with milliseconds, as the API writes it.
enum HubJSONDate {
    static func parse(_ text: String) -> Date? {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.date(from: text)
    }
}

@Suite("web: windows, spread and destination caps")
struct WebWindowsTests {
    @Test func theFormsSaveWindowSpreadAndCapAndShowTheirErrors() async throws {
        try await withTestHub { hub, client in
            let account = try await APIJobTests.setUp(hub, client)
            let browser = try await WebFormSession.signIn(client, email: account.email)
            let server = try #require(try await client.call(.get, "/api/v1/servers/web1", token: account.token).json["id"].string)
            let nas = try #require(try await client.call(.get, "/api/v1/destinations/nas", token: account.token).json["id"].string)
            let cookie = browser.cookie
            func post(_ path: String, _ fields: String) async throws -> (HTTPResponse.Status, String) { try await browser.post(path, fields) }
            let job =
                "&name=site&server=\(server)&kind=full&paths=%2Fsrv&schedule=daily&timeZone=UTC&keepDaily=7&destinations=\(nas)&enabled=on"
            let (status, _) = try await post("/backups/jobs", job + "&window=22%3A00-04%3A00&spread=30m")
            #expect(status == .seeOther || status == .found)
            let saved = try await client.call(.get, "/api/v1/jobs/site", token: account.token)
            #expect(saved.json["window"].string == "22:00-04:00" && saved.json["spreadSeconds"].int == 1800, "\(saved)")
            let id = try #require(saved.json["id"].string)
            let page = try await client.call(.get, "/backups/jobs/\(id)", headers: cookie).text
            #expect(page.contains("window 22:00-04:00 UTC, spread 30m"), "\(page)")
            let edit = try await client.call(.get, "/backups/jobs/\(id)/edit", headers: cookie).text
            #expect(edit.contains(#"name="window" value="22:00-04:00""#) && edit.contains(#"name="spread" value="30m""#))
            #expect(edit.contains(#"data-job-id="\#(id)""#), "the preview uses the job's own spread offset")
            let (refused, body) = try await post("/backups/jobs/\(id)", job + "&window=26%3A00-04%3A00")
            #expect(refused == .badRequest)
            #expect(body.contains(#"id="error-window""#) && body.contains("is not a time of day"), "\(body)")
            let (cleared, _) = try await post("/backups/jobs/\(id)", job)
            #expect(cleared == .seeOther || cleared == .found)
            let plain = try await client.call(.get, "/api/v1/jobs/site", token: account.token)
            #expect(plain.json["window"].isNull && plain.json["spreadSeconds"].isNull, "empty fields: none")

            let (capped, _) = try await post("/backups/destinations/\(nas)", "&name=nas&settings.path=%2Fsrv%2Fnas&maxConcurrentRuns=2")
            #expect(capped == .seeOther || capped == .found)
            #expect(try await client.call(.get, "/api/v1/destinations/nas", token: account.token).json["maxConcurrentRuns"].int == 2)
            let detail = try await client.call(.get, "/backups/destinations/\(nas)", headers: cookie).text
            #expect(detail.contains("at most 2 runs at once, across all servers"), "\(detail)")
            let (badCap, capBody) = try await post("/backups/destinations/\(nas)", "&name=nas&settings.path=%2Fsrv%2Fnas&maxConcurrentRuns=many")
            #expect(badCap == .badRequest && capBody.contains("is not a whole number of runs"), "\(capBody)")

            // The server page sets the server's own cap (enforced on the box).
            let (serverCap, _) = try await post("/backups/servers/\(server)/concurrency", "&maxConcurrentRuns=1")
            #expect(serverCap == .seeOther || serverCap == .found)
            #expect(try await client.call(.get, "/api/v1/servers/web1", token: account.token).json["maxConcurrentRuns"].int == 1)
            let serverPage = try await client.call(.get, "/backups/servers/\(server)", headers: cookie).text
            #expect(serverPage.contains(#"name="maxConcurrentRuns" type="number" min="1" max="1000" inputmode="numeric" value="1""#), "\(serverPage)")
            let (badServerCap, badServerBody) = try await post("/backups/servers/\(server)/concurrency", "&maxConcurrentRuns=1001")
            #expect(badServerCap == .badRequest && badServerBody.contains("give 1 to 1000"), "\(badServerBody)")
            let (noCap, _) = try await post("/backups/servers/\(server)/concurrency", "&maxConcurrentRuns=")
            #expect(noCap == .seeOther || noCap == .found)
            #expect(try await client.call(.get, "/api/v1/servers/web1", token: account.token).json["maxConcurrentRuns"].isNull, "empty: no cap")
        }
    }
}
