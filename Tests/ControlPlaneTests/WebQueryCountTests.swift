import BackupCore
import Foundation
import Hummingbird
import HummingbirdTesting
import Mustache
import Store
import Testing

@testable import ControlPlane

/// A page uses the database a fixed number of times, whatever the fleet's size.
@Suite("web: database use per page") struct WebQueryCountTests {
    /// Adds `servers` servers with `jobs` jobs each and one run per job, through the API.
    func grow(_ client: any TestClientProtocol, token: String, servers: Int, jobs: Int, from start: Int) async throws {
        for index in start..<(start + servers) {
            let server = try await client.call(.post, "/api/v1/servers", token: token, body: #"{"name":"web-\#(index)"}"#)
            try #require(server.status == .created)
            for job in 0..<jobs {
                let created = try await client.call(
                    .post, "/api/v1/jobs", token: token,
                    body: """
                        {"name":"job-\(job)","server":"web-\(index)","kind":"full","sources":{"paths":["/srv"]},"schedule":"daily \(String(format: "%02d", job)):15","destinations":["nas"]}
                        """)
                try #require(created.status == .created, "\(created)")
            }
        }
    }

    @Test func pagesUseTheDatabaseAFixedNumberOfTimes() async throws {
        try await withTestHub { hub, client in
            let account = try await hub.account("count@example.com")
            _ = try await client.call(
                .post, "/api/v1/destinations", token: account.token, body: #"{"name":"nas","kind":"local","settings":{"path":"/srv"}}"#)
            let renderer = try WebRenderer(hub: hub.services)
            func uses(_ page: String) async throws -> Int {
                let before = hub.store.backend.operations
                _ = try await renderer.render(page, accountID: account.id)
                return hub.store.backend.operations - before
            }
            let pages = ["hub", "jobs", "snapshots", "destinations", "recover"]
            try await grow(client, token: account.token, servers: 1, jobs: 1, from: 0)
            var small: [String: Int] = [:]
            for page in pages { small[page] = try await uses(page) }
            try await grow(client, token: account.token, servers: 6, jobs: 4, from: 1)
            for page in pages {
                #expect(try await uses(page) == small[page], "\(page) uses the database more often with more servers and jobs")
            }
            #expect(small["hub"] ?? 99 <= 8)
        }
    }

    @Test func theJobsPageShowsAHundredJobsAPageWithFiltersKept() async throws {
        try await withTestHub { hub, client in
            let account = try await hub.account("pages@example.com")
            _ = try await client.call(
                .post, "/api/v1/destinations", token: account.token, body: #"{"name":"nas","kind":"local","settings":{"path":"/srv"}}"#)
            try await grow(client, token: account.token, servers: 6, jobs: 21, from: 0)
            let pages = WebPages(hub: hub.services, assets: try WebAssets.load())
            let caller = PageCaller(account: try #require(try await hub.store.account(id: account.id)), csrf: "test")
            let first = try await JobPages(pages: pages).list(Request.empty("/backups/jobs"), caller)
            #expect(first.rows.count == 100)
            #expect(first.range == "Jobs 1–100 of 126")
            #expect(first.previous == nil)
            let next = try #require(first.next)
            let second = try await JobPages(pages: pages).list(Request.empty(next), caller)
            #expect(second.rows.count == 26)
            #expect(second.range == "Jobs 101–126 of 126")
            #expect(Set(first.rows.map(\.id)).isDisjoint(with: second.rows.map(\.id)))
            #expect(second.rows.allSatisfy { $0.destinations == "nas" && !$0.retention.isEmpty }, "the shown jobs are loaded whole")
            let server = try #require(try await hub.store.server(accountID: account.id, reference: "web-2"))
            let filtered = try await JobPages(pages: pages).list(Request.empty("/backups/jobs?server=\(server.id)"), caller)
            #expect(filtered.rows.count == 21 && filtered.range == nil && filtered.rows.allSatisfy { $0.server == "web-2" })
        }
    }

    @Test func theJobPageSaysWhatAJobChecksPingsAndCallsStale() async throws {
        try await withTestHub { hub, client in
            let account = try await hub.account("job-page@example.com")
            _ = try await client.call(
                .post, "/api/v1/destinations", token: account.token, body: #"{"name":"nas","kind":"local","settings":{"path":"/srv"}}"#)
            _ = try await client.call(.post, "/api/v1/servers", token: account.token, body: #"{"name":"web-1"}"#)
            let check = try await client.call(
                .post, "/api/v1/jobs", token: account.token,
                body: #"{"name":"verify","server":"web-1","kind":"check","schedule":"weekly","destinations":["nas"],"checkSubsets":7}"#)
            let backup = try await client.call(
                .post, "/api/v1/jobs", token: account.token,
                body: """
                    {"name":"site","server":"web-1","kind":"full","sources":{"paths":["/srv"]},"schedule":"daily","destinations":["nas"],
                     "staleAfter":93600,"pingURL":"https://hc-ping.example/abc"}
                    """)
            let pages = WebPages(hub: hub.services, assets: try WebAssets.load())
            let caller = PageCaller(account: try #require(try await hub.store.account(id: account.id)), csrf: "test")
            let checkID = try #require(check.json["id"].string)
            let backupID = try #require(backup.json["id"].string)
            let checkJob = try #require(try await hub.store.job(accountID: account.id, id: checkID))
            let backupJob = try #require(try await hub.store.job(accountID: account.id, id: backupID))
            let checkPage = try await JobPages(pages: pages).detail(checkJob, caller: caller, notice: nil)
            #expect(checkPage.check == "reads 1/7 of the data each run — all of it every 7 runs")
            #expect(checkPage.retention.contains("makes no snapshots"))
            let backupPage = try await JobPages(pages: pages).detail(backupJob, caller: caller, notice: nil)
            #expect(backupPage.staleAfter == "no snapshot newer than 26 h 0 min")
            #expect(
                backupPage.pings?.contains("hc-ping.example") == true && backupPage.pings?.contains("abc") == false,
                "the URL's secret part is not shown")
            #expect(backupPage.check == nil)
            let html = pages.assets.library.render(backupPage, withTemplate: "job") ?? ""
            #expect(html.contains("Stale when") && html.contains("Pings"))
        }
    }
}
