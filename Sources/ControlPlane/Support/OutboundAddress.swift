import Foundation
import NIOPosix

#if canImport(Glibc)
    import Glibc
#endif

/// Where the hub may send a notification (webhook, Slack, Discord, SMTP). The host is resolved and
/// every address checked — not the host's text — and the request then goes to those addresses
/// only (curl `--resolve`), so a name that resolves differently a moment later gains nothing.
///
/// - Always refused: link-local (169.254.0.0/16, fe80::/10, where cloud metadata services live),
///   cloud metadata addresses (169.254.169.254, 100.100.100.200, fd00:ec2::254), unspecified,
///   multicast and reserved addresses.
/// - Refused unless the operator allows private webhooks (`mzpanel serve --allow-private-webhooks`):
///   loopback (127.0.0.0/8, ::1), private (10/8, 172.16/12, 192.168/16, fc00::/7) and shared
///   (100.64/10) ranges.
/// IPv4-mapped (::ffff:a.b.c.d) and NAT64 (64:ff9b::a.b.c.d) addresses are judged by their IPv4 address.
public enum OutboundAddress {
    public enum Kind: Equatable, Sendable {
        case global
        case `private`
        /// Never reachable from the hub; the words say what it is.
        case forbidden(String)
    }

    /// What kind of address these bytes (4 or 16) are.
    public static func classify(_ bytes: [UInt8]) -> Kind {
        if bytes.count == 4 { return classifyV4(bytes) }
        guard bytes.count == 16 else { return .forbidden("not an IP address") }
        if bytes[0..<10].allSatisfy({ $0 == 0 }) && bytes[10] == 0xff && bytes[11] == 0xff { return classifyV4(Array(bytes[12..<16])) }
        if bytes[0..<12] == [0x00, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0][...] { return classifyV4(Array(bytes[12..<16])) }
        if bytes.allSatisfy({ $0 == 0 }) { return .forbidden("the unspecified address") }
        if bytes[0..<15].allSatisfy({ $0 == 0 }) && bytes[15] == 1 { return .private }
        if bytes == [0xfd, 0x00, 0x0e, 0xc2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02, 0x54] { return .forbidden("a cloud metadata address") }
        if bytes[0] == 0xfe && bytes[1] & 0xc0 == 0x80 { return .forbidden("a link-local address") }
        if bytes[0] == 0xff { return .forbidden("a multicast address") }
        if bytes[0] & 0xfe == 0xfc { return .private }
        return .global
    }

    static func classifyV4(_ b: [UInt8]) -> Kind {
        switch (b[0], b[1]) {
        case (169, 254): return .forbidden(b == [169, 254, 169, 254] ? "a cloud metadata address" : "a link-local address")
        case (100, 100) where b == [100, 100, 100, 200]: return .forbidden("a cloud metadata address")
        case (0, _): return .forbidden("the unspecified address")
        case (224...255, _): return .forbidden("a multicast or reserved address")
        case (10, _), (127, _), (192, 168): return .private
        case (172, 16...31): return .private
        case (100, 64...127): return .private
        default: return .global
        }
    }

    /// Why an address is refused.
    public struct Refused: Error, Sendable, CustomStringConvertible {
        public let description: String
    }

    /// The host's addresses, each allowed by the policy, as text (IPv6 without brackets).
    public static func resolve(host rawHost: String, port: Int, allowPrivate: Bool) async throws -> [String] {
        let host = rawHost.hasPrefix("[") && rawHost.hasSuffix("]") ? String(rawHost.dropFirst().dropLast()) : rawHost
        let found = try await NIOThreadPool.singleton.runIfActive { lookUp(host, port: port) }
        guard !found.isEmpty else { throw Refused(description: "the host name \(host) could not be resolved") }
        for (text, bytes) in found {
            switch classify(bytes) {
            case .global: continue
            case .private where allowPrivate: continue
            case .private:
                throw Refused(
                    description:
                        "\(host) is \(text), a private or loopback address; the hub's operator can allow those with mzpanel serve --allow-private-webhooks"
                )
            case .forbidden(let what): throw Refused(description: "\(host) is \(text), \(what), which the hub never sends to")
            }
        }
        return found.map(\.text)
    }

    private static func lookUp(_ host: String, port: Int) -> [(text: String, bytes: [UInt8])] {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &list) == 0, let first = list else { return [] }
        defer { freeaddrinfo(first) }
        var result: [(String, [UInt8])] = []
        var cursor: UnsafeMutablePointer<addrinfo>? = first
        while let entry = cursor {
            if let address = entry.pointee.ai_addr {
                var bytes: [UInt8] = []
                if entry.pointee.ai_family == AF_INET {
                    var v4 = address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { $0.pointee.sin_addr }
                    bytes = withUnsafeBytes(of: &v4) { Array($0) }
                } else if entry.pointee.ai_family == AF_INET6 {
                    var v6 = address.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { $0.pointee.sin6_addr }
                    bytes = withUnsafeBytes(of: &v6) { Array($0) }
                }
                if !bytes.isEmpty {
                    var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
                    let family = entry.pointee.ai_family
                    let text: String? = bytes.withUnsafeBytes { raw in
                        inet_ntop(family, raw.baseAddress, &buffer, socklen_t(buffer.count)) != nil
                            ? String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) : nil
                    }
                    if let text, !result.contains(where: { $0.0 == text }) { result.append((text, bytes)) }
                }
            }
            cursor = entry.pointee.ai_next
        }
        return result
    }

    /// curl's `--resolve` entry pinning the host to these addresses.
    static func curlResolve(host: String, port: Int, addresses: [String]) -> String {
        let bare = host.hasPrefix("[") ? String(host.dropFirst().dropLast()) : host
        let hostPart = bare.contains(":") ? "[\(bare)]" : bare
        return "\(hostPart):\(port):" + addresses.map { $0.contains(":") ? "[\($0)]" : $0 }.joined(separator: ",")
    }
}
