import Foundation
import Testing

/// A private certificate authority and a server certificate it signed for 127.0.0.1 and
/// localhost, made with the `openssl` command as an operator would.
struct TestCertificates {
    let authority: URL
    let serverCertificate: URL
    let serverKey: URL
    /// A second authority that signed nothing here: trusting it alone must refuse the hub.
    let otherAuthority: URL

    static var available: Bool { FileManager.default.isExecutableFile(atPath: "/usr/bin/openssl") }

    static func make(in directory: URL) async throws -> TestCertificates {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let openssl = CommandRunner(binary: URL(fileURLWithPath: "/usr/bin/openssl"), environment: ProcessInfo.processInfo.environment)
        func file(_ name: String) -> String { directory.appendingPathComponent(name).path }
        let curve = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        for (key, certificate, name) in [("ca.key", "ca.pem", "MZPanel Test CA"), ("other-ca.key", "other-ca.pem", "Another CA")] {
            let made = try await openssl.run(
                ["req", "-x509"] + curve + ["-keyout", file(key), "-out", file(certificate), "-days", "2", "-subj", "/CN=\(name)"])
            #expect(made.status == 0, "\(made.stderr)")
        }
        let request = try await openssl.run(
            ["req"] + curve + ["-keyout", file("hub.key"), "-out", file("hub.csr"), "-subj", "/CN=127.0.0.1"])
        #expect(request.status == 0, "\(request.stderr)")
        try "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n".write(
            toFile: file("hub.ext"), atomically: true, encoding: .utf8)
        let signed = try await openssl.run([
            "x509", "-req", "-in", file("hub.csr"), "-CA", file("ca.pem"), "-CAkey", file("ca.key"), "-CAcreateserial",
            "-out", file("hub.pem"), "-days", "2", "-extfile", file("hub.ext"),
        ])
        #expect(signed.status == 0, "\(signed.stderr)")
        return TestCertificates(
            authority: directory.appendingPathComponent("ca.pem"), serverCertificate: directory.appendingPathComponent("hub.pem"),
            serverKey: directory.appendingPathComponent("hub.key"), otherAuthority: directory.appendingPathComponent("other-ca.pem"))
    }
}
