import BackupCore
import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing

@testable import ControlPlane

/// `mzpanel serve --trusted-proxy`: the client address comes from `X-Forwarded-For` only when the
/// socket's peer is a trusted proxy (the rightmost untrusted hop), for the login throttle and the audit log.
@Suite("client addresses behind a reverse proxy")
struct TrustedProxyTests {
    static let forwardedFor = HTTPField.Name("X-Forwarded-For")!

    @Test func theRightmostUntrustedHopIsTheClientAndOnlyBehindATrustedPeer() throws {
        let none = TrustedProxies()
        #expect(none.clientAddress(peer: "127.0.0.1", forwardedFor: ["203.0.113.9"]) == "127.0.0.1")
        let loopback = try TrustedProxies.parse(["127.0.0.1", "::1"])
        #expect(loopback.clientAddress(peer: "192.0.2.4", forwardedFor: ["203.0.113.9"]) == "192.0.2.4", "an untrusted peer's header is ignored")
        #expect(
            loopback.clientAddress(peer: "127.0.0.1", forwardedFor: ["6.6.6.6, 203.0.113.9"]) == "203.0.113.9",
            "what the client wrote is left of its hop")
        #expect(loopback.clientAddress(peer: "::1", forwardedFor: ["203.0.113.9"]) == "203.0.113.9")
        #expect(loopback.clientAddress(peer: "127.0.0.1", forwardedFor: []) == "127.0.0.1")
        #expect(loopback.clientAddress(peer: "127.0.0.1", forwardedFor: ["203.0.113.9, not-an-address"]) == "127.0.0.1")
        let chain = try TrustedProxies.parse(["127.0.0.1/32,10.0.0.0/8"])
        #expect(
            chain.clientAddress(peer: "127.0.0.1", forwardedFor: ["6.6.6.6", "198.51.100.3, 10.1.2.3"]) == "198.51.100.3",
            "several headers are one list")
        #expect(chain.clientAddress(peer: "127.0.0.1", forwardedFor: ["::ffff:198.51.100.3"]) == "198.51.100.3")
        let v6 = try TrustedProxies.parse(["fd00::/8"])
        #expect(v6.clientAddress(peer: "fd12::1", forwardedFor: ["2001:db8::7"]) == "2001:db8::7")
        #expect(v6.clientAddress(peer: "fe80::1", forwardedFor: ["2001:db8::7"]) == "fe80::1")
        #expect(throws: TrustedProxyError.self) { try TrustedProxies.parse(["10.0.0.0/33"]) }
        #expect(throws: TrustedProxyError.self) { try TrustedProxies.parse(["proxy.example.com"]) }
        #expect(try TrustedProxies.parse([""]).isEmpty)
    }

    /// Twenty wrong passwords from one address block the next attempt from it (for any email).
    static func failTwenty(_ client: any TestClientProtocol, forwarded: (Int) -> String) async throws {
        for index in 0..<20 {
            let body = #"{"email":"nobody\#(index)@example.com","password":"not the password"}"#
            expectError(try await client.call(.post, "/api/v1/session", body: body, headers: [forwardedFor: forwarded(index)]), .unauthorized)
        }
    }

    @Test func aForgedHeaderFromAnUntrustedPeerChangesNothing() async throws {
        try await withTestHub(testing: .live) { _, client in
            // A different forged address on every attempt: the hub still counts them all against the socket's peer.
            try await Self.failTwenty(client) { "198.51.100.\($0)" }
            let body = #"{"email":"fresh@example.com","password":"not the password"}"#
            expectError(
                try await client.call(.post, "/api/v1/session", body: body, headers: [Self.forwardedFor: "192.0.2.200"]), .tooManyRequests)
        }
    }

    @Test func behindATrustedProxyEachClientIsThrottledAndAuditedByItsOwnAddress() async throws {
        let proxies = try TrustedProxies.parse(["127.0.0.1", "::1"])
        let configure: (inout HubConfiguration) -> Void = { $0.trustedProxies = proxies }
        try await withTestHub(testing: .live, configure: configure) { hub, client in
            let account = try await hub.account("proxied@example.com")
            try await Self.failTwenty(client) { _ in "198.51.100.7" }
            let other = #"{"email":"fresh@example.com","password":"not the password"}"#
            expectError(try await client.call(.post, "/api/v1/session", body: other, headers: [Self.forwardedFor: "198.51.100.7"]), .tooManyRequests)
            expectError(try await client.call(.post, "/api/v1/session", body: other, headers: [Self.forwardedFor: "198.51.100.8"]), .unauthorized)
            let right = #"{"email":"proxied@example.com","password":"\#(account.password)"}"#
            expectStatus(try await client.call(.post, "/api/v1/session", body: right, headers: [Self.forwardedFor: "6.6.6.6, 203.0.113.5"]), .created)
            let audit = try await client.call(.get, "/api/v1/audit", token: account.token)
            expectStatus(audit, .ok)
            let login = audit.json["events"].array.first { $0["action"].string == "Log in" }
            #expect(login?["address"].string == "203.0.113.5", "\(audit)")
        }
    }
}
