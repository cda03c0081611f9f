import BackupCore
import Foundation
import LinkProtocol
import Testing

@testable import Agent

@Suite("Hub link and enrollment")
struct HubLinkTests {
    static let response = EnrollResponse(
        serverID: Fixtures.serverID, serverName: "web-1", accountID: Fixtures.accountID,
        credential: "mza_the_credential_0123456789")

    @Test("enroll stores identity, credential (0600) and key, fetches jobs and writes timers; a second enroll needs --force")
    func enroll() async throws {
        try await withTemporaryDirectory { root in
            let job = try Fixtures.job(id: "job_enrolled", schedule: "daily 03:00")
            let hub = try FakeHub.start(
                in: root, token: "enr_good", enrollResponse: Self.response,
                jobs: AgentJobSet(serverID: Fixtures.serverID, jobs: [AgentJob(job: job, destinations: [], envelopes: [])]))
            defer { hub.stop() }
            let state = AgentState(directory: root + "/state")
            let settings = AgentSettings(systemdDirectory: root + "/systemd", randomizedDelaySeconds: 30)
            let enrollment = Enrollment(state: state, settings: settings, agentBinary: "/usr/local/bin/mzpanel-agent")

            await #expect(throws: AgentError.self) { try await enrollment.enroll(url: hub.url, token: "enr_wrong", force: false) }

            let result = try await enrollment.enroll(url: hub.url + "/", token: "enr_good\n", force: false)
            #expect(
                result.identity == AgentIdentity(serverID: Fixtures.serverID, accountID: Fixtures.accountID, serverName: "web-1", hubURL: hub.url))
            #expect(result.jobCount == 1)
            #expect(try state.loadCredential() == Self.response.credential)
            #expect(SecureFile.mode(of: state.credentialFile) == 0o600)
            #expect(SecureFile.mode(of: state.serverKeyFile) == 0o600)
            #expect(SecureFile.mode(of: state.directory) == 0o700)
            #expect(try state.loadJobs()?.jobs.map(\.job.id) == ["job_enrolled"])
            #expect(FileManager.default.fileExists(atPath: root + "/systemd/mzpanel-job-job_enrolled.timer"))

            let sent = try #require(hub.requests().first { $0.path == "/api/agent/v1/enroll" && $0.body?.contains("enr_good") == true })
            let request = try JSONDecoder().decode(EnrollRequest.self, from: Data(try #require(sent.body).utf8))
            let key = try ServerKey.load(from: state.serverKeyFile)
            #expect(request.publicKey == key.publicKeyBase64)
            #expect(request.keyFingerprint == key.fingerprint)
            #expect(hub.requests().first { $0.path == "/api/agent/v1/jobs" }?.authorization == "Agent " + Self.response.credential)

            await #expect(throws: AgentError.self) { try await enrollment.enroll(url: hub.url, token: "enr_good", force: false) }
            let again = try await enrollment.enroll(url: hub.url, token: "enr_good", force: true)
            #expect(again.fingerprint == key.fingerprint, "re-enrolling keeps the server key")
        }
    }

    @Test("hub errors are typed, say what to do and never show the credential")
    func errors() async throws {
        let unreachable = try HubLink(hubURL: "http://127.0.0.1:9", credential: "mza_do_not_print", timeout: 3)
        do {
            _ = try await unreachable.jobs()
            Issue.record("expected an error")
        } catch let error as HubLinkError {
            #expect(error.isTransient)
            #expect(!error.description.contains("mza_do_not_print"))
            #expect(error.description.contains("cannot be reached"))
        }
        try await withTemporaryDirectory { root in
            let hub = try FakeHub.start(in: root)
            defer { hub.stop() }
            let link = try HubLink(hubURL: hub.url, credential: "mza_x")
            do {
                _ = try await link.send(EventBatch(events: []))
                _ = try await HubLink(hubURL: hub.url + "/nothing", credential: "mza_x").jobs()
                Issue.record("expected an error")
            } catch let error as HubLinkError {
                guard case .rejected(let status, let code, _, _) = error else {
                    Issue.record("unexpected \(error)")
                    return
                }
                #expect(status == 404)
                #expect(code == "not_found")
            }
        }
        #expect(throws: AgentError.self) { try HubLink.normalize("ftp://hub") }
        #expect(throws: AgentError.self) { try HubLink.normalize("https://user:pw@hub") }
        #expect(try HubLink.normalize(" https://hub.example.com/prefix/ ") == "https://hub.example.com/prefix")
    }

    @Test("commands are long-polled and acknowledged")
    func commands() async throws {
        try await withTemporaryDirectory { root in
            let command = AgentCommand(
                id: "cmd_1", kind: .runNow, jobID: "job_a", runID: "run_a", createdAt: Date(timeIntervalSince1970: 1_767_225_600))
            let hub = try FakeHub.start(in: root, commands: [command])
            defer { hub.stop() }
            let link = try HubLink(hubURL: hub.url, credential: "mza_x")
            #expect(try await link.commands(wait: 5).commands == [command])
            try await link.ack(commandID: "cmd_1")
            #expect(try await link.commands(wait: 0).commands.isEmpty)
            #expect(hub.requests().contains { $0.method == "POST" && $0.path == "/api/agent/v1/commands/cmd_1/ack" })
        }
    }
}
