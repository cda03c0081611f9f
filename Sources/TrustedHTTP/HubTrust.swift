import Foundation

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// Which certificate authorities a client trusts for the hub's certificate: the system's, or only
/// those in one PEM file (a private CA, `--ca-file`).
public struct HubTrust: Sendable, Equatable {
    /// The PEM file of the only authorities trusted; nil trusts the system's.
    public let caFile: String?

    /// The system's certificate authorities (`/etc/ssl/certs`).
    public static let system = HubTrust(caFile: nil)

    public init(caFile: String?) {
        self.caFile = caFile
    }

    /// Trust in the PEM file at `path`, after checking that it holds at least one certificate.
    public static func caFile(_ path: String) throws -> HubTrust {
        let absolute = path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
        guard let data = FileManager.default.contents(atPath: absolute) else {
            throw TrustedHTTPError(code: nil, message: "cannot read the CA file \(path); check the path and its permissions")
        }
        guard String(decoding: data, as: UTF8.self).contains("-----BEGIN CERTIFICATE-----") else {
            throw TrustedHTTPError(code: nil, message: "the CA file \(path) holds no PEM certificate (-----BEGIN CERTIFICATE-----)")
        }
        return HubTrust(caFile: absolute)
    }
}

/// A call that did not get an HTTP answer: libcurl's code and its message (never a header or a body).
public struct TrustedHTTPError: Error, CustomStringConvertible, Sendable {
    /// libcurl's error code; nil for a problem found before the call.
    public let code: Int?
    public let message: String

    public init(code: Int?, message: String) {
        self.code = code
        self.message = message
    }

    /// The hub's certificate did not verify against the trusted authorities.
    public var isCertificateProblem: Bool {
        // CURLE_SSL_CONNECT_ERROR, CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CACERT_BADFILE
        [35, 60, 77].contains(code ?? 0)
    }

    public var description: String { message }
}

extension HubTrust {
    /// Whether `error` is the hub's certificate failing to verify, from libcurl directly or through
    /// URLSession (which on Linux reports it as an unknown error carrying libcurl's message).
    public static func isCertificateFailure(_ error: any Error) -> Bool {
        if let error = error as? TrustedHTTPError { return error.isCertificateProblem }
        guard let error = error as? URLError else { return false }
        switch error.code {
        case .secureConnectionFailed, .serverCertificateUntrusted, .serverCertificateHasUnknownRoot, .serverCertificateHasBadDate,
            .serverCertificateNotYetValid:
            return true
        default:
            let text = error.localizedDescription
            return text.contains("certificate") || text.contains("SSL")
        }
    }
}
