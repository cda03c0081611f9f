import Crypto
import Foundation
import Testing

@testable import Agent

@Suite("Server key")
struct ServerKeyTests {
    @Test("fingerprint = first 16 bytes of SHA-256 of the raw public key, hex in groups of four")
    func fingerprintFormat() {
        #expect(ServerKey.fingerprint(publicKey: Data(0..<32)) == "630d:cd29:66c4:3366:9112:5448:bbb2:5b4f")
    }

    @Test("a known private key gives a known public key and fingerprint (cross-checked with Python cryptography)")
    func knownKey() throws {
        let key = ServerKey(privateKey: try .init(rawRepresentation: Data(repeating: 7, count: 32)))
        #expect(key.publicKeyBase64 == "E75P6uryBMf9M1j8nAByGIHRdCeBKCJ+xnTzf3/pe20=")
        #expect(key.fingerprint == "0f6d:2553:ff0c:0f44:7ae2:02ed:d843:83e1")
    }

    @Test("the stored key is 0600 and loads with the same fingerprint; loadOrCreate never replaces it")
    func stable() async throws {
        try await withTemporaryDirectory { root in
            let path = root + "/server.key"
            let created = try ServerKey.loadOrCreate(at: path)
            #expect(SecureFile.mode(of: path) == 0o600)
            let loaded = try ServerKey.load(from: path)
            #expect(loaded.fingerprint == created.fingerprint)
            #expect(try ServerKey.loadOrCreate(at: path).fingerprint == created.fingerprint)
            #expect(created.fingerprint.split(separator: ":").count == 8)
        }
    }

    @Test("a damaged key file is an error that says what to do")
    func damaged() async throws {
        try await withTemporaryDirectory { root in
            let path = root + "/server.key"
            try SecureFile.write(Data("not a key".utf8), to: path)
            #expect(throws: AgentError.self) { try ServerKey.load(from: path) }
        }
    }
}
