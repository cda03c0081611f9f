import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import MZPanelCLI
import NIOSSL

/// Direct TLS for `mzpanel serve`: a certificate chain and its key, both PEM.
struct HubTLSFiles {
    var certificate: String
    var key: String

    /// The files from `--tls-cert`/`--tls-key`, else `MZPANEL_TLS_CERT`/`MZPANEL_TLS_KEY`; nil serves plain HTTP.
    static func resolve(certificate: String?, key: String?, environment: [String: String]) throws -> HubTLSFiles? {
        let certificate = certificate ?? environment["MZPANEL_TLS_CERT"].flatMap { $0.isEmpty ? nil : $0 }
        let key = key ?? environment["MZPANEL_TLS_KEY"].flatMap { $0.isEmpty ? nil : $0 }
        switch (certificate, key) {
        case (nil, nil): return nil
        case (let certificate?, let key?): return HubTLSFiles(certificate: certificate, key: key)
        case (nil, _): throw CLIError("--tls-key needs --tls-cert (or MZPANEL_TLS_CERT): the certificate chain the key belongs to")
        case (_, nil): throw CLIError("--tls-cert needs --tls-key (or MZPANEL_TLS_KEY): the certificate's private key")
        }
    }

    /// HTTP/1.1 inside TLS 1.2 or newer, with the chain and key read now (a renewed certificate needs a restart).
    func serverBuilder() throws -> HTTPServerBuilder {
        let chain: [NIOSSLCertificate]
        do {
            chain = try NIOSSLCertificate.fromPEMFile(certificate)
        } catch {
            throw CLIError(
                "cannot read the TLS certificate \(certificate) (\(error)); give a PEM file: the server's certificate first, then its intermediates")
        }
        guard !chain.isEmpty else { throw CLIError("the TLS certificate file \(certificate) holds no PEM certificate") }
        let privateKey: NIOSSLPrivateKey
        do {
            privateKey = try NIOSSLPrivateKey(file: key, format: .pem)
        } catch {
            throw CLIError("cannot read the TLS key \(key); give the certificate's private key as an unencrypted PEM file readable by the hub's user")
        }
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(privateKey))
        configuration.minimumTLSVersion = .tlsv12
        do {
            return try .tls(.http1(), tlsConfiguration: configuration)
        } catch {
            throw CLIError(
                "the TLS certificate \(certificate) and key \(key) cannot be used together (\(error)); check that the key belongs to the certificate")
        }
    }
}
