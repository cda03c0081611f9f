import BackupCore
import ControlPlane
import Foundation
import HTTPTypes
import HubAPI
import HummingbirdTesting
import Store
import Testing

@Suite("API: runs, snapshots, fleet and schedule preview")
struct APIHistoryTests {
    /// Servers web1/db1, jobs site (web1 → nas, usb) and dump (db1 → nas), runs one hour apart.
    struct Seeded: Sendable {
        let account: TestAccount
        let web1: String, db1: String, nas: String, usb: String, site: String, dump: String
        let runs: [Run]
        let snapshots: [Snapshot]

        static func make(_ hub: TestHub, _ client: any TestClientProtocol) async throws -> Seeded {
            let account = try await APIJobTests.setUp(hub, client)
            let token = account.token
            func id(_ path: String) async throws -> String { try #require(try await client.call(.get, path, token: token).json["id"].string) }
            for (name, server, destinations) in [("site", "web1", #""nas","usb""#), ("dump", "db1", #""nas""#)] {
                let response = try await client.call(
                    .post, "/api/v1/jobs", token: token,
                    body: """
                        {"name":"\(name)","server":"\(server)","kind":"full","sources":{"paths":["/srv"]},"schedule":"daily","destinations":[\(destinations)]}
                        """)
                try #require(response.status == .created, "\(response)")
            }
            let web1 = try await id("/api/v1/servers/web1")
            let db1 = try await id("/api/v1/servers/db1")
            let nas = try await id("/api/v1/destinations/nas")
            let usb = try await id("/api/v1/destinations/usb")
            let site = try await id("/api/v1/jobs/site")
            let dump = try await id("/api/v1/jobs/dump")
            let plan: [(String, String, [String], RunStatus)] = [
                (site, web1, [nas, usb], .succeeded), (dump, db1, [nas], .failed), (site, web1, [nas, usb], .partial),
                (dump, db1, [nas], .succeeded), (site, web1, [nas, usb], .running), (site, web1, [nas], .succeeded),
            ]
            var runs: [Run] = []
            var snapshots: [Snapshot] = []
            for (index, (job, server, destinations, status)) in plan.enumerated() {
                let at = TestClock.start.addingTimeInterval(Double(index) * 3600)
                let run = Run(
                    id: ResourceID.make(.run), accountID: account.id, serverID: server, jobID: job, trigger: .timer, slot: at, status: status,
                    createdAt: at, results: destinations.map { DestinationResult(destinationID: $0, status: .succeeded) })
                try await hub.store.insertRun(run)
                runs.append(run)
                if status == .succeeded || status == .partial {
                    let snapshot = Snapshot(
                        id: ResourceID.make(.snapshot), accountID: account.id, serverID: server, jobID: job, runID: run.id, createdAt: at,
                        copies: destinations.map { SnapshotCopy(destinationID: $0, resticSnapshotIDs: ["r\(index)"], bytesTotal: 100) })
                    try await hub.store.insertSnapshot(snapshot)
                    snapshots.append(snapshot)
                }
            }
            hub.clock.advance(by: 6 * 3600)
            return Seeded(account: account, web1: web1, db1: db1, nas: nas, usb: usb, site: site, dump: dump, runs: runs, snapshots: snapshots)
        }

        func newestFirst(_ runs: [Run]) -> [String] { runs.sorted { ($0.createdAt, $0.id) > ($1.createdAt, $1.id) }.map(\.id) }
        func newestFirst(_ snapshots: [Snapshot]) -> [String] { snapshots.sorted { ($0.createdAt, $0.id) > ($1.createdAt, $1.id) }.map(\.id) }
    }

    @Test func runsAreListedWithEveryFilter() async throws {
        try await withTestHub { hub, client in
            let seeded = try await Seeded.make(hub, client)
            let token = seeded.account.token
            func list(_ query: String) async throws -> [String] {
                let response = try await client.call(.get, "/api/v1/runs\(query)", token: token)
                #expect(response.status == .ok, "\(query): \(response)")
                #expect(response.json["nextCursor"].isNull)
                return response.json["runs"].ids
            }
            let runs = seeded.runs
            #expect(try await list("") == seeded.newestFirst(runs))
            #expect(try await list("?server=web1") == seeded.newestFirst(runs.filter { $0.serverID == seeded.web1 }))
            #expect(try await list("?server=\(seeded.db1)") == seeded.newestFirst(runs.filter { $0.serverID == seeded.db1 }))
            #expect(try await list("?job=site") == seeded.newestFirst(runs.filter { $0.jobID == seeded.site }))
            #expect(try await list("?job=\(seeded.dump)&server=db1") == seeded.newestFirst(runs.filter { $0.jobID == seeded.dump }))
            #expect(try await list("?destination=usb") == seeded.newestFirst(runs.filter { $0.results.contains { $0.destinationID == seeded.usb } }))
            #expect(try await list("?status=succeeded") == seeded.newestFirst(runs.filter { $0.status == .succeeded }))
            #expect(try await list("?status=failed&server=db1") == seeded.newestFirst(runs.filter { $0.status == .failed }))
            let since = TestClock.start.addingTimeInterval(2 * 3600)
            let until = TestClock.start.addingTimeInterval(4 * 3600)
            #expect(try await list("?since=\(HubJSON.format(since))") == seeded.newestFirst(runs.filter { $0.createdAt >= since }))
            #expect(try await list("?until=\(HubJSON.format(until))") == seeded.newestFirst(runs.filter { $0.createdAt < until }))
            #expect(try await list("?since=\(HubJSON.format(since))&until=\(HubJSON.format(until))").count == 2)
            #expect(try await list("?since=2026-01-01") == seeded.newestFirst(runs), "a bare date means midnight UTC")

            let shown = try await client.call(.get, "/api/v1/runs/\(runs[0].id)", token: token)
            expectStatus(shown, .ok)
            #expect(shown.json["status"].string == "succeeded")
            #expect(shown.json["results"].array.count == 2)
            #expect(shown.json["slot"].string == HubJSON.format(runs[0].createdAt))
            expectError(try await client.call(.get, "/api/v1/runs/\(ResourceID.make(.run))", token: token), .notFound, code: "not_found")
        }
    }

    @Test func runsArePagedWithACursor() async throws {
        try await withTestHub { hub, client in
            let account = try await APIJobTests.setUp(hub, client)
            let token = account.token
            let job = try await client.call(
                .post, "/api/v1/jobs", token: token,
                body: #"{"name":"site","server":"web1","kind":"full","sources":{"paths":["/srv"]},"schedule":"daily","destinations":["nas"]}"#)
            let jobID = try #require(job.json["id"].string)
            let serverID = try #require(job.json["serverID"].string)
            var expected: [Run] = []
            for index in 0..<120 {
                let run = Run(
                    id: ResourceID.make(.run), accountID: account.id, serverID: serverID, jobID: jobID, trigger: .manual, status: .succeeded,
                    createdAt: TestClock.start.addingTimeInterval(Double(index / 2)))
                try await hub.store.insertRun(run)
                expected.append(run)
            }
            var seen: [String] = []
            var cursor: String?
            var pages = 0
            repeat {
                let query = "?limit=50" + (cursor.map { "&cursor=\($0)" } ?? "")
                let page = try await client.call(.get, "/api/v1/runs\(query)", token: token)
                try #require(page.status == .ok, "\(page)")
                seen += page.json["runs"].ids
                cursor = page.json["nextCursor"].string
                pages += 1
            } while cursor != nil && pages < 10
            #expect(pages == 3)
            #expect(seen == expected.sorted { ($0.createdAt, $0.id) > ($1.createdAt, $1.id) }.map(\.id))
            #expect(try await client.call(.get, "/api/v1/runs", token: token).json["runs"].array.count == PageSize.standard)
        }
    }

    @Test func snapshotsAreListedFilteredAndPaged() async throws {
        try await withTestHub { hub, client in
            let seeded = try await Seeded.make(hub, client)
            let token = seeded.account.token
            func list(_ query: String) async throws -> [String] {
                let response = try await client.call(.get, "/api/v1/snapshots\(query)", token: token)
                #expect(response.status == .ok, "\(query): \(response)")
                return response.json["snapshots"].ids
            }
            let all = seeded.snapshots
            #expect(try await list("") == seeded.newestFirst(all))
            #expect(try await list("?server=web1") == seeded.newestFirst(all.filter { $0.serverID == seeded.web1 }))
            #expect(try await list("?job=dump") == seeded.newestFirst(all.filter { $0.jobID == seeded.dump }))
            #expect(try await list("?destination=usb") == seeded.newestFirst(all.filter { $0.copies.contains { $0.destinationID == seeded.usb } }))
            let since = TestClock.start.addingTimeInterval(3600)
            #expect(try await list("?since=\(HubJSON.format(since))&destination=nas") == seeded.newestFirst(all.filter { $0.createdAt >= since }))

            let first = try await client.call(.get, "/api/v1/snapshots?limit=2", token: token)
            #expect(first.json["snapshots"].array.count == 2)
            let cursor = try #require(first.json["nextCursor"].string)
            #expect(cursor.hasPrefix("mzc1."))
            let second = try await client.call(.get, "/api/v1/snapshots?limit=2&cursor=\(cursor)", token: token)
            #expect(first.json["snapshots"].ids + second.json["snapshots"].ids == Array(seeded.newestFirst(all).prefix(4)))

            let shown = try await client.call(.get, "/api/v1/snapshots/\(all[0].id)", token: token)
            expectStatus(shown, .ok)
            #expect(shown.json["copies"].array.count == 2)
            #expect(shown.json["runID"].string == all[0].runID)
            expectError(try await client.call(.get, "/api/v1/snapshots/\(ResourceID.make(.snapshot))", token: token), .notFound, code: "not_found")
        }
    }

    @Test func fleetSummarizesTheAccount() async throws {
        try await withTestHub { hub, client in
            let seeded = try await Seeded.make(hub, client)
            let fleet = try await client.call(.get, "/api/v1/fleet", token: seeded.account.token)
            expectStatus(fleet, .ok)
            #expect(fleet.json["servers"].int == 2)
            #expect(fleet.json["serversEnrolled"].int == 0)
            #expect(fleet.json["destinations"].int == 2)
            #expect(fleet.json["jobs"].int == 2)
            #expect(fleet.json["jobsEnabled"].int == 2)
            #expect(fleet.json["snapshots"].int == seeded.snapshots.count)
            #expect(fleet.json["protectedBytes"].int == 200)
            #expect(fleet.json["runsLast24h"]["succeeded"].int == 3)
            #expect(fleet.json["lastFailures"].int == 2)
        }
    }

    @Test func schedulePreviewNormalizesTheSchedule() async throws {
        try await withTestHub { hub, client in
            let account = try await hub.account("preview@example.com")
            for (schedule, zone) in [("daily", "UTC"), ("*-*-* 02:30:00", "Europe/Paris")] {
                let preview = try await client.call(
                    .post, "/api/v1/schedules/preview", token: account.token,
                    body: #"{"schedule":"\#(schedule)","timeZone":"\#(zone)","count":3,"from":"2026-03-01T00:00:00Z"}"#)
                expectStatus(preview, .ok)
                let expected = try Schedule.parse(schedule, timeZone: zone)
                #expect(preview.json["calendar"].string == expected.calendar)
                #expect(preview.json["timeZone"].string == expected.timeZone)
                #expect(preview.json["onCalendar"].string?.isEmpty == false)
                #expect(preview.json["next"].array.count <= 3)
            }
            let defaults = try await client.call(.post, "/api/v1/schedules/preview", token: account.token, body: #"{"schedule":"daily"}"#)
            expectStatus(defaults, .ok)
            #expect(defaults.json["timeZone"].string == "UTC")
        }
    }
}
