import Foundation
import HTTPTypes
import Hummingbird

#if canImport(Glibc)
    import Glibc
#endif

/// The reverse proxies whose `X-Forwarded-For` the hub believes (`mzpanel serve --trusted-proxy
/// CIDR`, `MZPANEL_TRUSTED_PROXIES`). None by default: then the client is the socket's peer, and a
/// forged header changes nothing.
public struct TrustedProxies: Sendable, Equatable {
    /// One network: an address's bytes (4 or 16) and its prefix length.
    public struct Network: Sendable, Equatable, CustomStringConvertible {
        let bytes: [UInt8]
        let prefix: Int

        /// `10.0.0.0/8`, `192.168.1.7` (one address), `::1`, `fd00::/8`.
        public init(_ text: String) throws {
            let trimmed = text.trimmingCharacters(in: .whitespaces)
            let parts = trimmed.split(separator: "/", omittingEmptySubsequences: false)
            guard (1...2).contains(parts.count), let bytes = TrustedProxies.addressBytes(String(parts[0])) else {
                throw TrustedProxyError(
                    "\"\(text)\" is not an address or network; give a proxy's address (127.0.0.1, ::1) or a network in CIDR form (10.0.0.0/8, fd00::/8)"
                )
            }
            let maximum = bytes.count * 8
            let prefix = parts.count == 2 ? Int(parts[1]) : maximum
            guard let prefix, (0...maximum).contains(prefix) else {
                throw TrustedProxyError("\"\(text)\": the prefix length must be 0 to \(maximum)")
            }
            self.bytes = bytes
            self.prefix = prefix
        }

        func contains(_ address: [UInt8]) -> Bool {
            guard address.count == bytes.count else { return false }
            var remaining = prefix
            for (mine, theirs) in zip(bytes, address) where remaining > 0 {
                let bits = min(8, remaining)
                let mask = UInt8(truncatingIfNeeded: 0xFF << (8 - bits))
                if mine & mask != theirs & mask { return false }
                remaining -= bits
            }
            return true
        }

        public var description: String {
            let family = bytes.count == 4 ? AF_INET : AF_INET6
            var buffer = [CChar](repeating: 0, count: 64)
            let text = bytes.withUnsafeBytes {
                inet_ntop(family, $0.baseAddress, &buffer, socklen_t(buffer.count)) != nil ? String(cString: buffer) : "?"
            }
            return "\(text)/\(prefix)"
        }
    }

    public var networks: [Network]

    public init(_ networks: [Network] = []) { self.networks = networks }

    /// Parses flags and the comma- or space-separated variable together.
    public static func parse(_ values: [String]) throws -> TrustedProxies {
        let items = values.flatMap { $0.split(whereSeparator: { $0 == "," || $0 == " " }) }.map(String.init).filter { !$0.isEmpty }
        return TrustedProxies(try items.map(Network.init))
    }

    public var isEmpty: Bool { networks.isEmpty }

    func trusts(_ address: [UInt8]) -> Bool { networks.contains { $0.contains(address) } }

    /// The client's address: the peer itself unless the peer is a trusted proxy; then the
    /// rightmost `X-Forwarded-For` hop that is not a trusted proxy (hops to its left could be
    /// anything the client sent). A hop that is not an address stops the walk at the last good one.
    public func clientAddress(peer: String?, forwardedFor headers: [String]) -> String? {
        guard let peer, !isEmpty, let peerBytes = Self.addressBytes(peer), trusts(peerBytes) else { return peer }
        let hops = headers.flatMap { $0.split(separator: ",") }.map { $0.trimmingCharacters(in: .whitespaces) }
        var client = peer
        for hop in hops.reversed() {
            guard let bytes = Self.addressBytes(hop) else { break }
            client = Self.canonical(bytes) ?? hop
            if !trusts(bytes) { break }
        }
        return client
    }

    /// The bytes of an IPv4 or IPv6 address (an IPv4-mapped IPv6 address as IPv4), or nil.
    static func addressBytes(_ text: String) -> [UInt8]? {
        var text = text
        if text.hasPrefix("[") && text.hasSuffix("]") { text = String(text.dropFirst().dropLast()) }
        guard !text.isEmpty, text.count <= 45 else { return nil }
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 { return withUnsafeBytes(of: &v4) { Array($0) } }
        var v6 = in6_addr()
        guard inet_pton(AF_INET6, text, &v6) == 1 else { return nil }
        let bytes = withUnsafeBytes(of: &v6) { Array($0) }
        if bytes[0..<10].allSatisfy({ $0 == 0 }) && bytes[10] == 0xFF && bytes[11] == 0xFF { return Array(bytes[12...]) }
        return bytes
    }

    static func canonical(_ bytes: [UInt8]) -> String? {
        var buffer = [CChar](repeating: 0, count: 64)
        let family = bytes.count == 4 ? AF_INET : AF_INET6
        return bytes.withUnsafeBytes { inet_ntop(family, $0.baseAddress, &buffer, socklen_t(buffer.count)) != nil ? String(cString: buffer) : nil }
    }
}

public struct TrustedProxyError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}

/// Sets the request's client address from the socket's peer and, only behind a trusted proxy,
/// `X-Forwarded-For` (the login throttle and the audit log read it).
struct ClientAddressMiddleware: RouterMiddleware {
    typealias Context = HubRequestContext
    let proxies: TrustedProxies
    static let forwardedFor = HTTPField.Name("X-Forwarded-For")!

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard !proxies.isEmpty else { return try await next(request, context) }
        var context = context
        context.clientAddress = proxies.clientAddress(peer: context.peerAddress, forwardedFor: request.headers[values: Self.forwardedFor])
        return try await next(request, context)
    }
}
