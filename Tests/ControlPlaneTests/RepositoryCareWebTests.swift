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
                let fields = "csrf=\(PageCaller.csrfToken(sessionSecret: secret))&name=nas&settings.path=%2Fsrv%2Fnas" + extra
                let answer = try await client.execute(
                    uri: "/backups/destinations/\(nas)", method: .post,
                    headers: [.cookie: "mzpanel_session=\(secret)", .contentType: "application/x-www-form-urlencoded"],
                    body: ByteBuffer(string: fields))
                return (answer.status, String(buffer: answer.body))
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
