import Crypto
import Foundation

/// RFC 9180 HPKE, base mode, DHKEM(X25519, HKDF-SHA256) with HKDF-SHA256 and AES-GCM.
///
/// Written over swift-crypto's primitives instead of its `HPKE` type so the ephemeral key can be
/// fixed (RFC 9180's vectors check sealing byte for byte) and `DeriveKeyPair` exists; a test
/// checks that swift-crypto's own HPKE opens what this seals.
public enum HPKE {
    public enum AEAD: UInt16, Sendable {
        case aes128GCM = 0x0001
        case aes256GCM = 0x0002

        var keyLength: Int { self == .aes128GCM ? 16 : 32 }
    }

    static let kemID: UInt16 = 0x0020
    static let kdfID: UInt16 = 0x0001
    static let nonceLength = 12

    /// `DeriveKeyPair(ikm)` for X25519 (RFC 9180 §7.1.3): the raw private key.
    public static func deriveKeyPair(ikm: Data) throws -> Curve25519.KeyAgreement.PrivateKey {
        let prk = labeledExtract(salt: Data(), label: "dkp_prk", ikm: ikm, suite: kemSuite)
        let secret = labeledExpand(prk: prk, label: "sk", info: Data(), length: 32, suite: kemSuite)
        return try Curve25519.KeyAgreement.PrivateKey(rawRepresentation: secret)
    }

    /// A sender context: `enc` goes to the recipient with every ciphertext.
    public struct Sender {
        public let enc: Data
        private var context: Context

        public init(
            recipient: Curve25519.KeyAgreement.PublicKey, info: Data, aead: AEAD = .aes256GCM,
            ephemeral: Curve25519.KeyAgreement.PrivateKey = .init()
        ) throws {
            let dh = try HPKE.dh(ephemeral, recipient)
            enc = ephemeral.publicKey.rawRepresentation
            let sharedSecret = HPKE.extractAndExpand(dh: dh, kemContext: enc + recipient.rawRepresentation)
            context = Context(sharedSecret: sharedSecret, info: info, aead: aead)
        }

        /// Seals the next message (sequence numbers advance by one per call).
        public mutating func seal(_ plaintext: Data, aad: Data) throws -> Data {
            try context.seal(plaintext, aad: aad)
        }
    }

    /// A recipient context for one `enc`.
    public struct Recipient {
        private var context: Context

        public init(privateKey: Curve25519.KeyAgreement.PrivateKey, enc: Data, info: Data, aead: AEAD = .aes256GCM) throws {
            let ephemeral = try Curve25519.KeyAgreement.PublicKey(rawRepresentation: enc)
            let dh = try HPKE.dh(privateKey, ephemeral)
            let sharedSecret = HPKE.extractAndExpand(dh: dh, kemContext: enc + privateKey.publicKey.rawRepresentation)
            context = Context(sharedSecret: sharedSecret, info: info, aead: aead)
        }

        /// Opens the next message; throws when it was altered or sealed for another context.
        public mutating func open(_ ciphertext: Data, aad: Data) throws -> Data {
            try context.open(ciphertext, aad: aad)
        }
    }

    /// The key schedule's output and the sequence number (RFC 9180 §5.1, §5.2).
    struct Context {
        let key: SymmetricKey
        let baseNonce: [UInt8]
        let exporterSecret: Data
        var sequence: UInt64 = 0

        init(sharedSecret: Data, info: Data, aead: AEAD) {
            let suite = HPKE.hpkeSuite(aead)
            let pskIDHash = HPKE.labeledExtract(salt: Data(), label: "psk_id_hash", ikm: Data(), suite: suite)
            let infoHash = HPKE.labeledExtract(salt: Data(), label: "info_hash", ikm: info, suite: suite)
            let scheduleContext = Data([0x00]) + pskIDHash + infoHash
            let secret = HPKE.labeledExtract(salt: sharedSecret, label: "secret", ikm: Data(), suite: suite)
            key = SymmetricKey(data: HPKE.labeledExpand(prk: secret, label: "key", info: scheduleContext, length: aead.keyLength, suite: suite))
            baseNonce = Array(HPKE.labeledExpand(prk: secret, label: "base_nonce", info: scheduleContext, length: HPKE.nonceLength, suite: suite))
            exporterSecret = HPKE.labeledExpand(prk: secret, label: "exp", info: scheduleContext, length: 32, suite: suite)
        }

        mutating func seal(_ plaintext: Data, aad: Data) throws -> Data {
            let box = try AES.GCM.seal(plaintext, using: key, nonce: try nextNonce(), authenticating: aad)
            sequence += 1
            return box.ciphertext + box.tag
        }

        mutating func open(_ ciphertext: Data, aad: Data) throws -> Data {
            guard ciphertext.count >= 16 else { throw SealingError.cannotOpen }
            let box = try AES.GCM.SealedBox(nonce: try nextNonce(), ciphertext: ciphertext.dropLast(16), tag: ciphertext.suffix(16))
            let plaintext = try AES.GCM.open(box, using: key, authenticating: aad)
            sequence += 1
            return plaintext
        }

        private func nextNonce() throws -> AES.GCM.Nonce {
            var nonce = baseNonce
            for index in 0..<8 { nonce[nonce.count - 1 - index] ^= UInt8(truncatingIfNeeded: sequence >> (8 * UInt64(index))) }
            return try AES.GCM.Nonce(data: nonce)
        }
    }

    // MARK: - Labeled HKDF (RFC 9180 §4)

    static let kemSuite = Data("KEM".utf8) + i2osp(kemID)
    static func hpkeSuite(_ aead: AEAD) -> Data { Data("HPKE".utf8) + i2osp(kemID) + i2osp(kdfID) + i2osp(aead.rawValue) }

    static func labeledExtract(salt: Data, label: String, ikm: Data, suite: Data) -> Data {
        let labeled = Data("HPKE-v1".utf8) + suite + Data(label.utf8) + ikm
        return Data(HMAC<SHA256>.authenticationCode(for: labeled, using: SymmetricKey(data: salt)))
    }

    static func labeledExpand(prk: Data, label: String, info: Data, length: Int, suite: Data) -> Data {
        let labeled = i2osp(UInt16(length)) + Data("HPKE-v1".utf8) + suite + Data(label.utf8) + info
        let key = HKDF<SHA256>.expand(pseudoRandomKey: prk, info: labeled, outputByteCount: length)
        return key.withUnsafeBytes { Data($0) }
    }

    static func extractAndExpand(dh: Data, kemContext: Data) -> Data {
        let prk = labeledExtract(salt: Data(), label: "eae_prk", ikm: dh, suite: kemSuite)
        return labeledExpand(prk: prk, label: "shared_secret", info: kemContext, length: 32, suite: kemSuite)
    }

    static func dh(_ privateKey: Curve25519.KeyAgreement.PrivateKey, _ publicKey: Curve25519.KeyAgreement.PublicKey) throws -> Data {
        let shared = try privateKey.sharedSecretFromKeyAgreement(with: publicKey)
        let bytes = shared.withUnsafeBytes { Data($0) }
        guard bytes.contains(where: { $0 != 0 }) else { throw SealingError.cannotOpen }  // small-order point
        return bytes
    }

    static func i2osp(_ value: UInt16) -> Data { Data([UInt8(value >> 8), UInt8(value & 0xff)]) }
}
