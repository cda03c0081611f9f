import BackupCore
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Store
import Testing

@testable import ControlPlane

/// The snapshot page's restore form: what is ticked becomes the restore run's plan.
@Suite("web: restore form")
struct WebRestoreFormTests {
    @Test func tickedDatabasesAndNoFilesBecomeThePlan() async throws {
        try await withTestHub { hub, client in
            let account = try await hub.account("restore-form@example.com", plan: .plus)
            let world = try await AccountWorld.build(hub, client, account: account, prefix: "rf")
            let job = try await client.call(
                .post, "/api/v1/jobs", token: account.token,
                body: """
                    {"name":"shopdb","server":"\(world.serverID)","kind":"database","sources":{"databases":[
                      {"engine":"postgresql","name":"shop","connection":"/var/run/postgresql"},{"engine":"mariadb","name":"crm"}]},
                     "schedule":"daily","destinations":["\(world.destinationName)"]}
                    """)
            expectStatus(job, .created)
            let jobID = try #require(job.json["id"].string)
            let backup = Run(
                id: ResourceID.make(.run), accountID: account.id, serverID: world.serverID, jobID: jobID, trigger: .manual, status: .succeeded,
                createdAt: hub.clock.now())
            try await hub.store.insertRun(backup)
            let snapshot = Snapshot(
                id: ResourceID.make(.snapshot), accountID: account.id, serverID: world.serverID, jobID: jobID, runID: backup.id,
                createdAt: hub.clock.now(),
                copies: [SnapshotCopy(destinationID: world.destinationID, resticSnapshotIDs: ["a1b2c3d4"], bytesTotal: 10)])
            try await hub.store.insertSnapshot(snapshot)
            let login = try await client.call(
                .post, "/api/v1/session", body: #"{"email":"restore-form@example.com","password":"\#(account.password)"}"#)
            let secret = try #require(login.cookies["mzpanel_session"]?.value)
            let csrf = PageCaller.csrfToken(sessionSecret: secret)
            let form =
                "csrf=\(csrf)&destination=\(world.destinationID)&server=\(world.serverID)&target=%2Fsrv%2Frestore&database=0&into-0=shop_copy&overwrite=on"
            let posted = try await client.execute(
                uri: "/backups/snapshots/\(snapshot.id)/restore", method: .post,
                headers: [.cookie: "mzpanel_session=\(secret)", .contentType: "application/x-www-form-urlencoded"],
                body: ByteBuffer(string: form))
            #expect(posted.status == .seeOther || posted.status == .found, "\(posted.status) \(String(buffer: posted.body))")
            let location = try #require(posted.headers[.location])
            let runID = try #require(location.split(separator: "/").last.map(String.init))
            let run = try await client.call(.get, "/api/v1/runs/\(runID)", token: account.token)
            expectStatus(run, .ok)
            #expect(run.json["trigger"].string == "restore")
            #expect(run.json["restore"]["files"].bool == false, "files were not ticked")
            #expect(run.json["restore"]["databases"].array.count == 1)
            #expect(run.json["restore"]["databases"][0]["name"].string == "shop")
            #expect(run.json["restore"]["databases"][0]["into"].string == "shop_copy")
            #expect(run.json["restore"]["databases"][0]["connection"].string == "/var/run/postgresql")
            #expect(run.json["restore"]["overwrite"].bool == true)
            #expect(run.json["restore"]["target"].string == "/srv/restore")

            let bad = try await client.execute(
                uri: "/backups/snapshots/\(snapshot.id)/restore", method: .post,
                headers: [.cookie: "mzpanel_session=\(secret)", .contentType: "application/x-www-form-urlencoded"],
                body: ByteBuffer(string: "csrf=\(csrf)&destination=\(world.destinationID)&server=\(world.serverID)"))
            #expect(bad.status == .badRequest, "nothing ticked: the page says so")
            #expect(String(buffer: bad.body).contains("nothing to restore"))
        }
    }

    @Test func aStackSnapshotShowsItsStackAndTheStackFormBecomesTheStackPlan() async throws {
        try await withTestHub { hub, client in
            let account = try await hub.account("stack-form@example.com", plan: .plus)
            let world = try await AccountWorld.build(hub, client, account: account, prefix: "sf")
            let snapshot = Snapshot(
                id: ResourceID.make(.snapshot), accountID: account.id, serverID: world.serverID, jobID: world.jobID, runID: ResourceID.make(.run),
                createdAt: hub.clock.now(), copies: [SnapshotCopy(destinationID: world.destinationID, resticSnapshotIDs: ["a1", "b2"])],
                stack: {
                    var contents = APIStackRestoreTests.contents
                    contents.bindMounts = ["/srv/shared"]
                    return contents
                }())
            try await hub.store.insertSnapshot(snapshot)
            let login = try await client.call(
                .post, "/api/v1/session", body: #"{"email":"stack-form@example.com","password":"\#(account.password)"}"#)
            let secret = try #require(login.cookies["mzpanel_session"]?.value)
            let csrf = PageCaller.csrfToken(sessionSecret: secret)
            let page = try await client.execute(
                uri: "/backups/snapshots/\(snapshot.id)", method: .get, headers: [.cookie: "mzpanel_session=\(secret)"])
            let html = String(buffer: page.body)
            #expect(page.status == .ok, "\(page.status)")
            #expect(html.contains(#"data-stack="shop""#) && html.contains(#"<li data-service="db">"#), "\(html)")
            #expect(html.contains(#"<li data-database="db">database: postgresql dump</li><li data-volume="pgdata">volume pgdata</li>"#), "\(html)")
            #expect(html.contains(#"data-stack-volume="uploads""#) && html.contains(#"data-stack-database="db""#), "\(html)")
            #expect(!html.contains(#"data-stack-database="app""#), "app has no dump")
            #expect(html.contains(#"<li data-bind="/srv/shared">bind mount <code>/srv/shared</code>"#), "\(html)")

            func post(_ form: String) async throws -> TestResponse {
                try await client.execute(
                    uri: "/backups/snapshots/\(snapshot.id)/restore", method: .post,
                    headers: [.cookie: "mzpanel_session=\(secret)", .contentType: "application/x-www-form-urlencoded"],
                    body: ByteBuffer(string: "csrf=\(csrf)&destination=\(world.destinationID)&server=\(world.serverID)&stack=1&" + form))
            }
            let posted = try await post("projectDirectory=%2Fsrv%2Fshop2&volume=uploads&stackDatabase=db&stack-into-db=shop_copy&dryRun=on")
            #expect(posted.status == .seeOther || posted.status == .found, "\(posted.status) \(String(buffer: posted.body))")
            let runID = try #require(posted.headers[.location]?.split(separator: "/").last.map(String.init))
            let run = try await client.call(.get, "/api/v1/runs/\(runID)", token: account.token)
            #expect(run.json["restore"]["files"].bool == false && run.json["restore"]["dryRun"].bool == true, "\(run)")
            #expect(run.json["restore"]["stack"]["projectDirectory"].string == "/srv/shop2", "\(run)")
            #expect(run.json["restore"]["stack"]["volumes"][0].string == "uploads", "\(run)")
            #expect(run.json["restore"]["stack"]["databases"][0]["into"].string == "shop_copy", "\(run)")

            let bad = try await post("volume=nosuch")
            #expect(bad.status == .badRequest)
            #expect(String(buffer: bad.body).contains("holds no volume nosuch"))
        }
    }
}
