import BackupCore
import Foundation
import LinkProtocol
import Testing

@testable import Agent

@Suite("Outbox")
struct OutboxTests {
    static func event(_ id: String, at seconds: Double, kind: AgentEvent.Kind = .runStarted) -> AgentEvent {
        let run = Run(
            id: "run_x", accountID: Fixtures.accountID, serverID: Fixtures.serverID, jobID: "job_y", trigger: .manual,
            status: .running, createdAt: Date(timeIntervalSince1970: seconds))
        return AgentEvent(id: id, kind: kind, occurredAt: Date(timeIntervalSince1970: seconds), run: run)
    }

    @Test("events survive a reopen, come back oldest first, and go only when removed")
    func durable() async throws {
        try await withTemporaryDirectory { root in
            let directory = root + "/outbox"
            do {
                let outbox = Outbox(directory: directory)
                try outbox.append(Self.event("evt_b", at: 200))
                try outbox.append(Self.event("evt_a", at: 100))
                try outbox.append(Self.event("evt_c", at: 300, kind: .runFinished))
            }
            let reopened = Outbox(directory: directory)
            #expect(reopened.depth == 3)
            let pending = try reopened.pending()
            #expect(pending.map(\.id) == ["evt_a", "evt_b", "evt_c"])
            #expect(pending[2] == Self.event("evt_c", at: 300, kind: .runFinished))
            reopened.remove(ids: ["evt_a", "evt_c", "evt_unknown"])
            #expect(try Outbox(directory: directory).pending().map(\.id) == ["evt_b"])
            #expect(SecureFile.mode(of: directory + "/evt_b.json") == 0o600)
        }
    }

    @Test("temporary files of an interrupted write are not events; damaged files are set aside")
    func ignoresPartialFiles() async throws {
        try await withTemporaryDirectory { root in
            let outbox = Outbox(directory: root + "/outbox")
            try outbox.append(Self.event("evt_ok", at: 1))
            try Data("{\"half".utf8).write(to: URL(fileURLWithPath: root + "/outbox/.evt_x.json.tmp-1-2"))
            try Data("garbage".utf8).write(to: URL(fileURLWithPath: root + "/outbox/evt_bad.json"))
            #expect(try outbox.pending().map(\.id) == ["evt_ok"])
            #expect(FileManager.default.fileExists(atPath: root + "/outbox/evt_bad.json.bad"))
            #expect(outbox.depth == 1)
        }
    }

    @Test("flush sends in batches of at most 100 and removes what the hub acknowledged")
    func flush() async throws {
        try await withTemporaryDirectory { root in
            let hub = try FakeHub.start(in: root, acknowledgeUpTo: 230)
            defer { hub.stop() }
            let outbox = Outbox(directory: root + "/outbox")
            for index in 0..<250 { try outbox.append(Self.event(String(format: "evt_%03d", index), at: Double(index))) }
            let link = try HubLink(hubURL: hub.url, credential: "mza_secret_credential")
            let acknowledged = try await outbox.flush(link: link)
            #expect(acknowledged == 230)
            #expect(outbox.depth == 20)
            #expect(hub.batchSizes() == [100, 100, 50])
            #expect(hub.authorizations().allSatisfy { $0 == "Agent mza_secret_credential" })
        }
    }

    @Test("an event the hub refuses is set aside so the others still arrive")
    func poisonEvent() async throws {
        try await withTemporaryDirectory { root in
            let hub = try FakeHub.start(in: root, rejectIDs: ["evt_002"])
            defer { hub.stop() }
            let outbox = Outbox(directory: root + "/outbox")
            for index in 0..<5 { try outbox.append(Self.event(String(format: "evt_%03d", index), at: Double(index))) }
            let acknowledged = try await outbox.flush(link: try HubLink(hubURL: hub.url, credential: "mza_x"))
            #expect(acknowledged == 4)
            #expect(outbox.depth == 0)
            #expect(FileManager.default.fileExists(atPath: root + "/outbox/evt_002.json.rejected"))
        }
    }

    @Test("a hub that is down leaves every event in place")
    func hubDown() async throws {
        try await withTemporaryDirectory { root in
            let outbox = Outbox(directory: root + "/outbox")
            try outbox.append(Self.event("evt_a", at: 1))
            await #expect(throws: HubLinkError.self) {
                try await outbox.flush(link: try HubLink(hubURL: "http://127.0.0.1:9", credential: "mza_x", timeout: 3))
            }
            #expect(outbox.depth == 1)
        }
    }
}
