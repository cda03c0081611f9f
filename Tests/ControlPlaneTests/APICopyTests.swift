import BackupCore
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Store
import Testing

@testable import ControlPlane

/// `POST /api/v1/jobs/{job}/copies`: both destinations must be the job's and different, the plan
/// must still include their kinds, the server must have an agent; each refusal names the field
/// and queues nothing.
@Suite("API: copies between destinations")
struct APICopyTests {
    @Test func copiesAreRefusedWithClearReasons() async throws {
        try await withTestHub { hub, client in
            let account = try await hub.account("copies@example.com", plan: .plus)
            let token = account.token
            expectStatus(try await client.call(.post, "/api/v1/servers", token: token, body: #"{"name":"web1"}"#), .created)
            for (name, path) in [("nas", "/srv/nas"), ("usb", "/srv/usb"), ("spare", "/srv/spare")] {
                expectStatus(
                    try await client.call(
                        .post, "/api/v1/destinations", token: token, body: #"{"name":"\#(name)","kind":"local","settings":{"path":"\#(path)"}}"#),
                    .created)
            }
            expectStatus(
                try await client.call(
                    .post, "/api/v1/destinations", token: token,
                    body: #"{"name":"s3","kind":"s3","settings":{"endpoint":"https://s3.example.com","bucket":"bkt"}}"#), .created)
            expectStatus(
                try await client.call(
                    .post, "/api/v1/jobs", token: token,
                    body:
                        #"{"name":"site","server":"web1","kind":"full","sources":{"paths":["/srv"]},"schedule":"daily","destinations":["nas","usb","s3"]}"#
                ), .created)
            let path = "/api/v1/jobs/site/copies"

            let same = try await client.call(.post, path, token: token, body: #"{"from":"nas","to":"nas"}"#)
            expectError(same, .badRequest, code: "invalid", field: "to")
            #expect(same.error["message"].string?.contains("same destination") == true, "\(same)")

            let notTheJobs = try await client.call(.post, path, token: token, body: #"{"from":"nas","to":"spare"}"#)
            expectError(notTheJobs, .badRequest, code: "invalid", field: "to")
            #expect(notTheJobs.error["message"].string?.contains("not a destination of job site") == true, "\(notTheJobs)")
            expectError(
                try await client.call(.post, path, token: token, body: #"{"from":"spare","to":"nas"}"#), .badRequest, code: "invalid", field: "from")
            expectError(
                try await client.call(.post, path, token: token, body: #"{"from":"nas","to":"nowhere"}"#), .badRequest, code: "invalid", field: "to")
            expectError(try await client.call(.post, path, token: token, body: #"{"from":"nas"}"#), .badRequest, code: "invalid", field: "to")
            expectError(try await client.call(.post, path, token: token, body: #"{"from":"nas","to":5}"#), .badRequest, code: "invalid", field: "to")

            // Valid, but the server has no agent yet: a conflict that says what to do.
            let unenrolled = try await client.call(.post, path, token: token, body: #"{"from":"nas","to":"usb"}"#)
            expectError(unenrolled, .conflict)
            #expect(unenrolled.error["message"].string?.contains("no agent enrolled") == true, "\(unenrolled)")

            // An offsite target needs the Plus plan, as for the job's offsite destinations.
            #expect(try await hub.store.setPlan(accountID: account.id, plan: .free))
            expectError(
                try await client.call(.post, path, token: token, body: #"{"from":"nas","to":"s3"}"#), HTTPResponse.Status(code: 402),
                code: "plan_required")

            let runs = try await client.call(.get, "/api/v1/runs", token: token)
            #expect(runs.json["runs"].array.isEmpty, "a refused copy queues no run: \(runs)")
        }
    }

    /// The job page offers the copy between its destinations; the form's refusal is a page that says why.
    @Test func theJobPageOffersTheCopyAndSaysWhyItDidNotStart() async throws {
        try await withTestHub { hub, client in
            let account = try await hub.account("copy-page@example.com", plan: .plus)
            let token = account.token
            expectStatus(try await client.call(.post, "/api/v1/servers", token: token, body: #"{"name":"web1"}"#), .created)
            for (name, path) in [("nas", "/srv/nas"), ("usb", "/srv/usb")] {
                expectStatus(
                    try await client.call(
                        .post, "/api/v1/destinations", token: token, body: #"{"name":"\#(name)","kind":"local","settings":{"path":"\#(path)"}}"#),
                    .created)
            }
            let job = try await client.call(
                .post, "/api/v1/jobs", token: token,
                body: #"{"name":"site","server":"web1","kind":"full","sources":{"paths":["/srv"]},"schedule":"daily","destinations":["nas","usb"]}"#)
            let jobID = try #require(job.json["id"].string, "\(job)")
            let browser = try await WebFormSession.signIn(client, email: "copy-page@example.com")
            let page = try await browser.page("/backups/jobs/\(jobID)")
            #expect(page.contains(#"action="/backups/jobs/\#(jobID)/copy""#) && page.contains(#"id="copy-to""#), "\(page)")
            let answer = try await browser.post("/backups/jobs/\(jobID)/copy", "&from=nas&to=nas")
            #expect(answer.status == .badRequest)
            #expect(answer.body.contains("The copy did not start") && answer.body.contains("same destination"), "\(answer.body)")
        }
    }
}
