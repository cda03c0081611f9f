import BackupCore
import Crypto
import Foundation

/// Per (destination, server) envelopes (docs/sealing.md, "Envelope"): the destination data key
/// HPKE-sealed to the server, the destination's credential box and, optionally, secrets for this
/// server only (a peer login).
public enum Envelope {
    public static let version = 1

    /// Who an envelope is for; every part is bound into the HPKE `info` and `aad`.
    public struct Address: Sendable, Equatable {
        public var accountID: String
        public var destinationID: String
        public var serverID: String
        public var keyID: String

        public init(accountID: String, destinationID: String, serverID: String, keyID: String) {
            self.accountID = accountID
            self.destinationID = destinationID
            self.serverID = serverID
            self.keyID = keyID
        }

        var context: Data { Binding.envelope(accountID: accountID, destinationID: destinationID, serverID: serverID, keyID: keyID) }
    }

    /// What an agent gets out of an envelope.
    public struct Opened: Sendable {
        public var credential: DestinationCredential
        public var serverSecrets: [String: String]
    }

    struct Document: Codable {
        var v: Int
        var enc: String
        var ddk: String
        var credential: SealedBox
        var server: String?
    }

    /// Seals `dataKey` and the credential box to `serverPublicKey` (raw 32 bytes); returns the
    /// bytes the hub stores. Refuses when `keyID` is not the key's fingerprint.
    public static func seal(
        to address: Address, serverPublicKey: Data, dataKey: Data, credentialBox: SealedBox,
        serverSecrets: [String: String]? = nil,
        ephemeral: Curve25519.KeyAgreement.PrivateKey = .init()
    ) throws -> Data {
        guard let publicKey = try? Curve25519.KeyAgreement.PublicKey(rawRepresentation: serverPublicKey) else {
            throw SealingError.invalid("the server's public key is not a 32-byte X25519 key; enroll the server again")
        }
        guard KeyFingerprint.of(serverPublicKey) == address.keyID else {
            throw SealingError.invalid("the key id \(address.keyID) is not the fingerprint of the server's public key")
        }
        guard dataKey.count == 32 else { throw SealingError.invalid("a destination data key has 32 bytes") }
        var sender = try HPKE.Sender(recipient: publicKey, info: address.context, ephemeral: ephemeral)
        var document = Document(
            v: version, enc: sender.enc.base64EncodedString(),
            ddk: try sender.seal(dataKey, aad: address.context).base64EncodedString(),
            credential: credentialBox)
        if let serverSecrets {
            let encoder = JSONEncoder()
            encoder.outputFormatting = .sortedKeys
            document.server = try sender.seal(try encoder.encode(serverSecrets), aad: address.context).base64EncodedString()
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return try encoder.encode(document)
    }

    /// Opens an envelope with the server's private key. Every failure is `SealingError.cannotOpen`.
    public static func open(_ bytes: Data, address: Address, privateKey: Curve25519.KeyAgreement.PrivateKey) throws -> Opened {
        guard let document = try? JSONDecoder().decode(Document.self, from: bytes), document.v == version,
            let enc = Data(base64Encoded: document.enc), let sealedKey = Data(base64Encoded: document.ddk)
        else {
            throw SealingError.cannotOpen
        }
        do {
            var recipient = try HPKE.Recipient(privateKey: privateKey, enc: enc, info: address.context)
            let dataKey = try recipient.open(sealedKey, aad: address.context)
            guard dataKey.count == 32 else { throw SealingError.cannotOpen }
            var serverSecrets: [String: String] = [:]
            if let server = document.server {
                guard let sealed = Data(base64Encoded: server) else { throw SealingError.cannotOpen }
                serverSecrets = try JSONDecoder().decode([String: String].self, from: try recipient.open(sealed, aad: address.context))
            }
            guard
                let plaintext = Boxes.open(
                    document.credential, key: dataKey,
                    aad: Binding.credential(accountID: address.accountID, destinationID: address.destinationID))
            else {
                throw SealingError.cannotOpen
            }
            return Opened(credential: try DestinationCredential.decode(plaintext), serverSecrets: serverSecrets)
        } catch {
            throw SealingError.cannotOpen
        }
    }
}

/// Key ids: the fingerprint of a server's raw public key (docs/sealing.md, "Keys").
public enum KeyFingerprint {
    /// A fingerprint as people copy it (any case, spaces, separators) reduced to its hex digits, to compare.
    public static func normalized(_ fingerprint: String) -> String {
        fingerprint.lowercased().filter { $0.isHexDigit }
    }

    public static func of(_ publicKey: Data) -> String {
        let hex = SHA256.hash(data: publicKey).prefix(16).map { String(format: "%02x", $0) }
        return stride(from: 0, to: hex.count, by: 2).map { hex[$0] + hex[$0 + 1] }.joined(separator: ":")
    }
}
