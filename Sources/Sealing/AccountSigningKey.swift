import Crypto
import Foundation

/// The account's Ed25519 signing key (docs/sealing.md, "Account signing key"). Its private half
/// lives only inside the vault, so only a browser or CLI that unlocked the vault can certify a
/// server key or sign a manifest; agents pin the public half at enrollment.
public struct AccountSigningKey: Sendable {
    /// The 32-byte Ed25519 seed (RFC 8032's private key).
    let seed: Data
    /// The 32 raw bytes of the public key.
    public let publicKey: Data

    public init(seed: Data) throws {
        guard seed.count == 32 else { throw SealingError.invalid("an account signing key is 32 bytes") }
        self.seed = seed
        self.publicKey = try Curve25519.Signing.PrivateKey(rawRepresentation: seed).publicKey.rawRepresentation
    }

    public static func generate() throws -> AccountSigningKey { try AccountSigningKey(seed: Boxes.randomBytes(32)) }

    /// The public key's fingerprint, in the same form as a server key's.
    public var fingerprint: String { KeyFingerprint.of(publicKey) }

    public func sign(_ message: Data) throws -> Data {
        try Curve25519.Signing.PrivateKey(rawRepresentation: seed).signature(for: message)
    }

    /// True when `signature` is `publicKey`'s Ed25519 signature of `message`.
    public static func verify(_ signature: Data, of message: Data, publicKey: Data) -> Bool {
        guard publicKey.count == 32, signature.count == 64,
            let key = try? Curve25519.Signing.PublicKey(rawRepresentation: publicKey)
        else { return false }
        return key.isValidSignature(signature, for: message)
    }
}
