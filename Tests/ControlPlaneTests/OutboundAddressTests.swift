import BackupCore
import Foundation
import HTTPTypes
import HummingbirdTesting
import Store
import Testing

@testable import ControlPlane

#if canImport(Glibc)
    import Glibc
#endif

/// Notifications leave the hub only for checked addresses, follow no redirects and never repeat
/// what the receiver answered.
@Suite("outbound notifications: addresses, redirects, errors")
struct OutboundAddressTests {
    static func bytes(_ text: String) -> [UInt8] {
        if text.contains(":") {
            var address = in6_addr()
            _ = inet_pton(AF_INET6, text, &address)
            return withUnsafeBytes(of: &address) { Array($0) }
        }
        var address = in_addr()
        _ = inet_pton(AF_INET, text, &address)
        return withUnsafeBytes(of: &address) { Array($0) }
    }

    @Test(arguments: [
        ("169.254.169.254", "forbidden"), ("169.254.1.1", "forbidden"), ("100.100.100.200", "forbidden"), ("fd00:ec2::254", "forbidden"),
        ("fe80::1", "forbidden"), ("febf::1", "forbidden"), ("0.0.0.0", "forbidden"), ("::", "forbidden"), ("224.0.0.1", "forbidden"),
        ("255.255.255.255", "forbidden"), ("ff02::1", "forbidden"), ("::ffff:169.254.169.254", "forbidden"), ("64:ff9b::a9fe:a9fe", "forbidden"),
        ("10.0.0.1", "private"), ("172.16.0.1", "private"), ("172.31.255.255", "private"), ("192.168.1.1", "private"), ("127.0.0.1", "private"),
        ("127.8.9.10", "private"), ("::1", "private"), ("fc00::1", "private"), ("fd12:3456::1", "private"), ("100.64.0.1", "private"),
        ("::ffff:10.1.2.3", "private"),
        ("8.8.8.8", "global"), ("172.32.0.1", "global"), ("172.15.0.1", "global"), ("2001:4860:4860::8888", "global"), ("100.128.0.1", "global"),
        ("fec0::1", "global"),
    ])
    func addressesAreClassified(address: String, expected: String) {
        let kind = OutboundAddress.classify(Self.bytes(address))
        let name =
            switch kind {
            case .global: "global"
            case .private: "private"
            case .forbidden: "forbidden"
            }
        #expect(name == expected, "\(address): \(kind)")
    }

    /// The resolved address counts, not the host's text: `localhost` is loopback.
    @Test func theResolvedAddressIsChecked() async throws {
        await #expect(throws: OutboundAddress.Refused.self) { try await OutboundAddress.resolve(host: "localhost", port: 80, allowPrivate: false) }
        #expect(try await OutboundAddress.resolve(host: "localhost", port: 80, allowPrivate: true).contains { $0 == "127.0.0.1" || $0 == "::1" })
        for metadata in ["169.254.169.254", "[fd00:ec2::254]", "100.100.100.200", "::ffff:169.254.169.254"] {
            let refused = await #expect(throws: OutboundAddress.Refused.self) {
                try await OutboundAddress.resolve(host: metadata, port: 80, allowPrivate: true)
            }
            #expect(refused?.description.contains("never sends to") == true, "\(metadata) is refused even when private ones are allowed")
        }
        let privateRefused = await #expect(throws: OutboundAddress.Refused.self) {
            try await OutboundAddress.resolve(host: "10.0.0.8", port: 443, allowPrivate: false)
        }
        #expect(privateRefused?.description.contains("--allow-private-webhooks") == true)
    }

    @Test func curlIsPinnedToTheCheckedAddresses() {
        #expect(
            OutboundAddress.curlResolve(host: "hooks.example.com", port: 443, addresses: ["192.0.2.1", "2001:db8::1"])
                == "hooks.example.com:443:192.0.2.1,[2001:db8::1]")
        #expect(OutboundAddress.curlResolve(host: "[::1]", port: 8080, addresses: ["::1"]) == "[::1]:8080:[::1]")
    }

    /// A real receiver on 127.0.0.1 (Tests/Support/webhook_receiver.py).
    final class Receiver: Sendable {
        let process: Process
        let port: Int
        let log: URL

        init() throws {
            let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
                .appendingPathComponent("Support/webhook_receiver.py")
            log = FileManager.default.temporaryDirectory.appendingPathComponent("mzpanel-receiver-\(UUID().uuidString).jsonl")
            process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["python3", script.path, log.path]
            let output = Pipe()
            process.standardOutput = output
            try process.run()
            var line = Data()
            while let byte = try output.fileHandleForReading.read(upToCount: 1), !byte.isEmpty, byte != Data("\n".utf8) { line.append(byte) }
            port = Int(String(decoding: line, as: UTF8.self)) ?? 0
        }

        var requests: [[String: Any]] {
            guard let text = try? String(contentsOf: log, encoding: .utf8) else { return [] }
            return text.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        }

        func stop() {
            // SIGKILL: the test process may hand its children an ignored SIGTERM.
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            try? FileManager.default.removeItem(at: log)
        }
    }

    /// Adds a channel to `path` on the receiver, queues a test notification and runs one delivery pass; the delivery's error.
    func deliver(_ hub: TestHub, _ client: any TestClientProtocol, account: TestAccount, receiver: Receiver, path: String) async throws -> String? {
        let token = account.token
        let channel = try await client.call(
            .post, "/api/v1/notifications/channels", token: token,
            body: #"{"name":"hook\#(path.replacingOccurrences(of: "/", with: "-"))","url":"http://127.0.0.1:\#(receiver.port)\#(path)"}"#)
        try #require(channel.status == .created, "\(channel)")
        let channelID = try #require(channel.json["channel"]["id"].string)
        expectStatus(try await client.call(.post, "/api/v1/notifications/channels/\(channelID)/test", token: token), .accepted)
        try await HubNotifier(hub: hub.services, logger: TestHub.logger).deliver()
        let delivery = try #require(try await hub.store.deliveries(accountID: account.id, limit: 100).first { $0.channelID == channelID })
        if delivery.lastError == nil { #expect(delivery.deliveredAt != nil) }
        return delivery.lastError
    }

    @Test func privateReceiversNeedTheOperatorsConsent() async throws {
        let receiver = try Receiver()
        defer { receiver.stop() }
        try await withTestHub { hub, client in
            let account = try await hub.account("no-private@example.com")
            let error = try #require(try await deliver(hub, client, account: account, receiver: receiver, path: "/hook"))
            #expect(error.contains("private or loopback") && error.contains("--allow-private-webhooks"), "\(error)")
            #expect(receiver.requests.isEmpty, "nothing was sent")
        }
    }

    @Test func redirectsAreNotFollowedAndAnswersAreNotRepeated() async throws {
        let receiver = try Receiver()
        defer { receiver.stop() }
        try await withTestHub(allowPrivateWebhooks: true) { hub, client in
            let account = try await hub.account("outbound@example.com")
            #expect(try await deliver(hub, client, account: account, receiver: receiver, path: "/hook") == nil)
            let first = try #require(receiver.requests.first)
            #expect((first["headers"] as? [String: String])?["x-mzpanel-signature"]?.hasPrefix("t=") == true)
            #expect((first["body"] as? String)?.contains("\"event\"") == true || (first["body"] as? String)?.isEmpty == false)

            let redirected = try #require(try await deliver(hub, client, account: account, receiver: receiver, path: "/redirect"))
            #expect(redirected.contains("HTTP 302") && redirected.contains("does not follow"), "\(redirected)")
            #expect(!redirected.contains("RECEIVER-BODY"))
            #expect(!receiver.requests.contains { ($0["path"] as? String) == "/landed" }, "the redirect was not followed")

            let broken = try #require(try await deliver(hub, client, account: account, receiver: receiver, path: "/broken"))
            #expect(broken == "the receiver answered HTTP 500", "\(broken)")
        }
    }
}
