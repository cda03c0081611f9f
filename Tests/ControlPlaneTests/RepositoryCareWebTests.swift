import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing

@testable import ControlPlane

/// Repository care settings through the API and the destination edit page, and prune jobs.
@Suite("repository care: destination settings and prune jobs")
struct RepositoryCareWebTests {
    @Test func settingsThroughAPIAndPageWithFieldErrors() async throws {
        try await withTestHub { hub, client in
            let account = try await APIJobTests.setUp(hub, client)
            let patched = try await client.call(
                .patch, "/api/v1/destinations/nas", token: account.token,
                body: #"{"settings":{"path":"/srv/nas","pruneMaxUnused":"10%","pruneMaxRepackSize":"1GiB","lockWaitSeconds":120}}"#)
            #expect(patched.status == .ok, "\(patched.text)")
            #expect(patched.json["settings"]["pruneMaxUnused"].string == "10%")
            #expect(patched.json["settings"]["pruneMaxRepackSize"].string == "\(1 << 30)")
            #expect(patched.json["settings"]["lockWaitSeconds"].int == 120)
            let refused = try await client.call(
                .patch, "/api/v1/destinations/nas", token: account.token, body: #"{"settings":{"path":"/srv/nas","pruneMaxUnused":"lots"}}"#)
            #expect(refused.status == .badRequest)
            #expect(refused.json["error"]["field"].string == "settings.pruneMaxUnused", "\(refused.text)")

            let login = try await client.call(
                .post, "/api/v1/session", body: #"{"email":"\#(account.email)","password":"\#(TestHub.password)"}"#)
            let secret = try #require(login.cookies["mzpanel_session"]?.value, "\(login)")
            let nas = try #require(patched.json["id"].string)
            let edit = try await client.call(.get, "/backups/destinations/\(nas)/edit", headers: [.cookie: "mzpanel_session=\(secret)"]).text
            #expect(edit.contains(#"name="settings.pruneMaxUnused" value="10%""#), "\(edit)")
            #expect(edit.contains(#"name="settings.lockWaitSeconds""#))
            func post(_ extra: String) async throws -> (HTTPResponse.Status, String) {
                try await WebFormSession(client: client, secret: secret).post(
                    "/backups/destinations/\(nas)", "&name=nas&settings.path=%2Fsrv%2Fnas" + extra)
            }
            let (saved, _) = try await post("&settings.pruneMaxUnused=2%25&settings.pruneMaxRepackSize=&settings.lockWaitSeconds=0")
            #expect(saved == .seeOther || saved == .found)
            let shown = try await client.call(.get, "/api/v1/destinations/nas", token: account.token)
            #expect(shown.json["settings"]["pruneMaxUnused"].string == "2%")
            #expect(shown.json["settings"]["pruneMaxRepackSize"].isNull)
            #expect(shown.json["settings"]["lockWaitSeconds"].int == 0)
            let (badWait, body) = try await post("&settings.lockWaitSeconds=soon")
            #expect(badWait == .badRequest)
            #expect(body.contains("is not a whole number of seconds"), "\(body)")
            let (badUnused, unusedBody) = try await post("&settings.pruneMaxUnused=200%25")
            #expect(badUnused == .badRequest)
            #expect(unusedBody.contains("is not a --max-unused value"), "\(unusedBody)")

            // A prune job: no sources, its kind shown; a prune job with paths is refused.
            let server = "web1"
            let prune = try await client.call(
                .post, "/api/v1/jobs", token: account.token,
                body: #"{"name":"prune-nas","server":"\#(server)","kind":"prune","schedule":"weekly","destinations":["nas"]}"#)
            #expect(prune.status == .created, "\(prune.text)")
            #expect(prune.json["kind"].string == "prune")
            let withPaths = try await client.call(
                .post, "/api/v1/jobs", token: account.token,
                body:
                    #"{"name":"prune-2","server":"\#(server)","kind":"prune","schedule":"weekly","destinations":["nas"],"sources":{"paths":["/srv"]}}"#
            )
            #expect(withPaths.status == .badRequest)
            #expect(withPaths.json["error"]["field"].string == "sources")
        }
    }
}

/// The job form's per-destination retention: the CLI's `@destination` syntax, saved, shown again, errors next to the field.
@Suite("web: per-destination retention in the job form")
struct WebDestinationRetentionFormTests {
    @Test func theFormSavesDestinationRulesAndNamesTheirErrors() async throws {
        try await withTestHub { hub, client in
            let account = try await APIJobTests.setUp(hub, client)
            let login = try await client.call(
                .post, "/api/v1/session", body: #"{"email":"\#(account.email)","password":"\#(TestHub.password)"}"#)
            let secret = try #require(login.cookies["mzpanel_session"]?.value, "\(login)")
            let server = try #require(try await client.call(.get, "/api/v1/servers/web1", token: account.token).json["id"].string)
            let nas = try #require(try await client.call(.get, "/api/v1/destinations/nas", token: account.token).json["id"].string)
            let usb = try #require(try await client.call(.get, "/api/v1/destinations/usb", token: account.token).json["id"].string)
            func post(_ path: String, _ rules: String) async throws -> (HTTPResponse.Status, String) {
                let encoded = rules.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
                let fields =
                    "csrf=\(PageCaller.csrfToken(sessionSecret: secret))&name=site&server=\(server)&kind=full&paths=%2Fsrv&schedule=daily"
                    + "&timeZone=UTC&keepDaily=7&destinations=\(nas)&destinations=\(usb)&enabled=on&destinationRetention=\(encoded)"
                let answer = try await client.execute(
                    uri: path, method: .post,
                    headers: [.cookie: "mzpanel_session=\(secret)", .contentType: "application/x-www-form-urlencoded"],
                    body: ByteBuffer(string: fields))
                return (answer.status, String(buffer: answer.body))
            }
            let (missingAt, page) = try await post("/backups/jobs", "--keep-daily 3")
            #expect(missingAt == .badRequest)
            #expect(page.contains(#"id="error-destinationRetention""#), "\(page)")
            #expect(page.contains("name the destination after @, e.g. --keep-daily 3@nas"))
            let (unknown, unknownPage) = try await post("/backups/jobs", "--keep-daily 3@nowhere")
            #expect(unknown == .badRequest)
            #expect(unknownPage.contains(#"id="error-destinationRetention""#), "\(unknownPage)")
            let (badOption, badPage) = try await post("/backups/jobs", "--keep-often 3@nas")
            #expect(badOption == .badRequest)
            #expect(badPage.contains("is not a retention option"), "\(badPage)")

            let (created, _) = try await post("/backups/jobs", "--keep-daily 3@nas\nkeep-monthly 12@usb --keep-weekly 2@nas")
            #expect(created == .seeOther || created == .found)
            let job = try await client.call(.get, "/api/v1/jobs/site", token: account.token)
            let rules = job.json["destinationRetention"].array
            #expect(rules.count == 2, "\(job.text)")
            #expect(rules.first { $0["destination"].string == nas }?["retention"]["keepDaily"].int == 3)
            #expect(rules.first { $0["destination"].string == nas }?["retention"]["keepWeekly"].int == 2)
            #expect(rules.first { $0["destination"].string == usb }?["retention"]["keepMonthly"].int == 12)
            let jobID = try #require(job.json["id"].string)
            let edit = try await client.call(.get, "/backups/jobs/\(jobID)/edit", headers: [.cookie: "mzpanel_session=\(secret)"]).text
            #expect(edit.contains("--keep-daily 3@\(nas) --keep-weekly 2@\(nas)"), "\(edit)")

            // Emptying the field removes the rules.
            let (saved, _) = try await post("/backups/jobs/\(jobID)", "")
            #expect(saved == .seeOther || saved == .found)
            #expect(try await client.call(.get, "/api/v1/jobs/site", token: account.token).json["destinationRetention"].array.isEmpty)
        }
    }
}
