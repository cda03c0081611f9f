import Crypto
import Foundation
import Sealing

/// The server's X25519 key pair. Destination credentials are sealed to its public key; the private
/// key stays in `server.key` (0600) and never leaves the box.
public struct ServerKey: Sendable {
    /// The raw private key (kept as bytes: swift-crypto's key type is not Sendable).
    private let privateKeyRaw: Data

    public init(privateKey: Curve25519.KeyAgreement.PrivateKey = .init()) {
        self.privateKeyRaw = privateKey.rawRepresentation
    }

    public var privateKey: Curve25519.KeyAgreement.PrivateKey {
        // The bytes came from a valid key, so this cannot fail.
        try! Curve25519.KeyAgreement.PrivateKey(rawRepresentation: privateKeyRaw)
    }

    /// The raw 32-byte public key.
    public var publicKeyRaw: Data { privateKey.publicKey.rawRepresentation }

    /// The public key as sent to the hub (base64 of the raw bytes).
    public var publicKeyBase64: String { publicKeyRaw.base64EncodedString() }

    /// `ab12:cd34:…`: the first 16 bytes of SHA-256 of the raw public key, hex in groups of two bytes.
    public var fingerprint: String { Self.fingerprint(publicKey: publicKeyRaw) }

    public static func fingerprint(publicKey raw: Data) -> String { KeyFingerprint.of(raw) }

    /// Loads the key from `path`; throws when it is missing or damaged.
    public static func load(from path: String) throws -> ServerKey {
        guard let data = try SecureFile.read(path) else {
            throw AgentError("no server key at \(path); enroll the agent first (`mzpanel-agent enroll --url … --token …` creates it)")
        }
        let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard let raw = Data(base64Encoded: text), let key = try? Curve25519.KeyAgreement.PrivateKey(rawRepresentation: raw) else {
            throw AgentError(
                "the server key \(path) is damaged; restore it from a backup of the state directory, or remove it and enroll again with --force (credentials sealed to the old key must then be sealed again)"
            )
        }
        return ServerKey(privateKey: key)
    }

    /// Loads the key, or creates and stores a new one (0600) when there is none.
    public static func loadOrCreate(at path: String) throws -> ServerKey {
        if FileManager.default.fileExists(atPath: path) { return try load(from: path) }
        let key = ServerKey()
        let text = Data((key.privateKey.rawRepresentation.base64EncodedString() + "\n").utf8)
        if try !SecureFile.createExclusive(path, contents: text, mode: 0o600) {
            return try load(from: path)  // another process created it first
        }
        return key
    }
}
