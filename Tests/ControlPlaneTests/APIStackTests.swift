import BackupCore
import Foundation
import HTTPTypes
import HubAPI
import HummingbirdTesting
import LinkProtocol
import NIOCore
import Store
import Testing

@testable import ControlPlane

/// Docker stacks as the hub keeps them: the agent reports, the API and the server page show the
/// last report, and another account sees nothing of it.
@Suite("API: Docker stacks")
struct APIStackTests {
    static let report = #"""
        {"stacks":[{"project":"shop","directory":"/srv/shop","configFiles":["/srv/shop/docker-compose.yml"],
         "services":[{"name":"app","image":"shop/app:1","state":"running","containers":["shop_app_1"],"stopForBackup":true,
           "dumpDisabled":false,"volumes":["uploads"]},
          {"name":"db","image":"postgres:16","state":"running","containers":["shop_db_1"],"database":"postgresql","stopForBackup":false,
           "dumpDisabled":false,"volumes":["pgdata"]}],
         "volumes":[{"name":"pgdata","engineName":"shop_pgdata","mountpoint":"/var/lib/docker/volumes/shop_pgdata/_data","sizeBytes":4096,
           "excluded":false},
          {"name":"uploads","engineName":"shop_uploads","mountpoint":"/var/lib/docker/volumes/shop_uploads/_data","excluded":false}],
         "bindMounts":[{"service":"app","source":"/srv/shop/config","destination":"/etc/app","insideProject":true}]}]}
        """#

    @Test func theAgentsReportIsShownByTheAPIAndTheServerPage() async throws {
        try await withTestHub { hub, client in
            let account = try await hub.account("stacks@example.com")
            let world = try await AccountWorld.build(hub, client, account: account, prefix: "s")
            let agent: HTTPFields = [.authorization: "Agent \(try #require(world.agentCredential))"]

            let before = try await client.call(.get, "/api/v1/servers/\(world.serverName)/stacks", token: account.token)
            #expect(before.status == .ok && before.json["stacks"].array.isEmpty && before.json["reportedAt"].string == nil, "\(before)")

            let put = try await client.call(.put, "/api/agent/v1/stacks", body: Self.report, headers: agent)
            #expect(put.status == .ok, "\(put)")
            let shown = try await client.call(.get, "/api/v1/servers/\(world.serverName)/stacks", token: account.token)
            #expect(shown.status == .ok, "\(shown)")
            let stack = shown.json["stacks"][0]
            #expect(stack["project"].string == "shop")
            #expect(stack["services"][1]["database"].string == "postgresql")
            #expect(stack["volumes"][0]["sizeBytes"].int == 4096)
            #expect(shown.json["reportedAt"].string != nil)

            // Asking again queues a command for the agent and answers the last report.
            let asked = try await client.call(.post, "/api/v1/servers/\(world.serverID)/stacks/discover", token: account.token)
            #expect(asked.status == .accepted && asked.json["stacks"][0]["project"].string == "shop", "\(asked)")
            let commands = try await client.call(.get, "/api/agent/v1/commands?wait=0", headers: agent)
            #expect(commands.json["commands"].array.contains { $0["kind"].string == "discoverStacks" }, "\(commands)")

            // The server page has the Stacks section with the pre-filled job form link.
            let login = try await client.call(
                .post, "/api/v1/session", body: #"{"email":"stacks@example.com","password":"\#(TestHub.password)"}"#)
            let secret = try #require(login.cookies["mzpanel_session"]?.value, "\(login)")
            let page = try await client.call(.get, "/backups/servers/\(world.serverID)", headers: [.cookie: "mzpanel_session=\(secret)"]).text
            #expect(page.contains("data-stack=\"shop\""), "\(page.prefix(500))")
            #expect(page.contains("Protect this stack"))
            #expect(page.contains("/backups/jobs/new?server=\(world.serverID)&amp;name=shop&amp;stack=shop"), "\(page)")

            // The pre-filled form makes a stack job.
            let form = try await client.call(
                .get, "/backups/jobs/new?server=\(world.serverID)&name=shop&stack=shop", headers: [.cookie: "mzpanel_session=\(secret)"])
            #expect(form.text.contains(#"name="stack" placeholder="shop" value="shop""#), "\(form.text)")
            let fields =
                "csrf=\(PageCaller.csrfToken(sessionSecret: secret))&name=shop-stack&server=\(world.serverID)&kind=full&stack=shop"
                + "&stackStop=app&stackExcludeVolumes=cache&schedule=daily&timeZone=UTC&keepDaily=7&destinations=\(world.destinationID)&enabled=on"
            let posted = try await client.execute(
                uri: "/backups/jobs", method: .post,
                headers: [.cookie: "mzpanel_session=\(secret)", .contentType: "application/x-www-form-urlencoded"], body: ByteBuffer(string: fields))
            #expect(posted.status == .seeOther || posted.status == .found, "\(posted.status) \(String(buffer: posted.body))")
            let job = try await client.call(.get, "/api/v1/jobs/shop-stack?server=\(world.serverID)", token: account.token)
            #expect(job.json["sources"]["stack"]["project"].string == "shop", "\(job)")
            #expect(job.json["sources"]["stack"]["stop"][0].string == "app")
            #expect(job.json["sources"]["stack"]["excludeVolumes"][0].string == "cache")
            let jobPage = try await client.call(
                .get, "/backups/jobs/\(try #require(job.json["id"].string))", headers: [.cookie: "mzpanel_session=\(secret)"])
            #expect(jobPage.text.contains("shop — stops app for the volume copy — without volumes cache"), "\(jobPage.text)")

            // Another account sees no such server.
            let other = try await hub.account("other-stacks@example.com")
            let hidden = try await client.call(.get, "/api/v1/servers/\(world.serverID)/stacks", token: other.token)
            #expect(hidden.status == .notFound, "\(hidden)")
        }
    }

    @Test func aReportWithUnknownKeysOrTooManyStacksIsRefused() async throws {
        try await withTestHub { hub, client in
            let account = try await hub.account("stacks-bad@example.com")
            let world = try await AccountWorld.build(hub, client, account: account, prefix: "t")
            let agent: HTTPFields = [.authorization: "Agent \(try #require(world.agentCredential))"]
            let unknown = try await client.call(.put, "/api/agent/v1/stacks", body: #"{"stacks":[],"extra":1}"#, headers: agent)
            #expect(unknown.status == .badRequest, "\(unknown)")
            let stack = #"{"project":"p","configFiles":[],"services":[],"volumes":[],"bindMounts":[]}"#
            let many = "{\"stacks\":[" + Array(repeating: stack, count: 501).joined(separator: ",") + "]}"
            let tooMany = try await client.call(.put, "/api/agent/v1/stacks", body: many, headers: agent)
            #expect(tooMany.status == .badRequest, "\(tooMany)")
            let anonymous = try await client.call(.put, "/api/agent/v1/stacks", body: #"{"stacks":[]}"#)
            #expect(anonymous.status == .unauthorized, "\(anonymous)")
        }
    }
}
