import Foundation

/// The sealing documents the hub stores for the user (docs/sealing.md). The hub checks their
/// shape so a broken client cannot store something no one can open, but holds no key for them.

/// AES-256-GCM output: a 12-byte nonce and ciphertext followed by the 16-byte tag, both base64.
public struct SealedBox: Sendable, Codable, Equatable {
    public var nonce: String
    public var ct: String

    public init(nonce: String, ct: String) {
        self.nonce = nonce
        self.ct = ct
    }

    /// Checks that both parts are base64 of plausible sizes.
    public func validated(field: String, maxBytes: Int = 64 * 1024) throws(DomainError) -> SealedBox {
        guard let nonce = Data(base64Encoded: nonce), nonce.count == 12 else {
            throw .invalid("\(field).nonce", "must be base64 of 12 bytes (an AES-GCM nonce)")
        }
        guard let ct = Data(base64Encoded: ct), ct.count >= 16, ct.count <= maxBytes else {
            throw .invalid("\(field).ct", "must be base64 of an AES-GCM ciphertext with its tag (16 bytes to \(maxBytes / 1024) KiB)")
        }
        return self
    }
}

/// The account's vault: the vault key boxed under the passphrase key and under the recovery key.
public struct VaultDocument: Sendable, Codable, Equatable {
    public static let currentVersion = 1
    public static let minimumIterations = 600_000
    public static let iterationRange = minimumIterations...10_000_000

    public var v: Int
    public var kdf: String
    public var iterations: Int
    public var salt: String
    public var passphrase: SealedBox
    public var recovery: SealedBox
    /// The account signing key's 32-byte Ed25519 seed, boxed under the vault key; absent in vaults
    /// made before signing existed (the next unlock adds it).
    public var signing: SealedBox?
    /// The account signing key's public half (base64 of 32 bytes), for the hub to show and agents
    /// to pin; clients trust only the key they open from `signing`.
    public var signingKey: String?

    public init(
        v: Int = currentVersion, kdf: String = "PBKDF2-SHA256", iterations: Int, salt: String, passphrase: SealedBox, recovery: SealedBox,
        signing: SealedBox? = nil, signingKey: String? = nil
    ) {
        self.v = v
        self.kdf = kdf
        self.iterations = iterations
        self.salt = salt
        self.passphrase = passphrase
        self.recovery = recovery
        self.signing = signing
        self.signingKey = signingKey
    }

    public func validated() throws(DomainError) -> VaultDocument {
        guard v == Self.currentVersion else { throw .invalid("v", "vault format \(v) is unknown; this hub stores version \(Self.currentVersion)") }
        guard kdf == "PBKDF2-SHA256" else { throw .invalid("kdf", "\"\(kdf)\" is not supported; use PBKDF2-SHA256") }
        guard Self.iterationRange.contains(iterations) else {
            throw .invalid("iterations", "\(iterations) is out of range; use 600,000 to 10,000,000 PBKDF2 iterations")
        }
        guard let salt = Data(base64Encoded: salt), (16...64).contains(salt.count) else {
            throw .invalid("salt", "must be base64 of 16 to 64 random bytes")
        }
        _ = try passphrase.validated(field: "passphrase", maxBytes: 64)
        _ = try recovery.validated(field: "recovery", maxBytes: 64)
        guard (signing == nil) == (signingKey == nil) else {
            throw .invalid(signing == nil ? "signing" : "signingKey", "signing and signingKey come together: the boxed seed and its public key")
        }
        _ = try signing?.validated(field: "signing", maxBytes: 64)
        if let signingKey, Data(base64Encoded: signingKey)?.count != 32 {
            throw .invalid("signingKey", "must be base64 of a 32-byte Ed25519 public key")
        }
        return self
    }
}

/// A destination's key record: its data key boxed under the vault key, and its credential box.
public struct DestinationKeyRecord: Sendable, Codable, Equatable {
    public static let currentVersion = 1

    public var v: Int
    public var wrappedKey: SealedBox
    public var credential: SealedBox

    public init(v: Int = currentVersion, wrappedKey: SealedBox, credential: SealedBox) {
        self.v = v
        self.wrappedKey = wrappedKey
        self.credential = credential
    }

    public func validated() throws(DomainError) -> DestinationKeyRecord {
        guard v == Self.currentVersion else {
            throw .invalid("v", "key record format \(v) is unknown; this hub stores version \(Self.currentVersion)")
        }
        _ = try wrappedKey.validated(field: "wrappedKey", maxBytes: 64)
        _ = try credential.validated(field: "credential", maxBytes: SealedEnvelope.maxCiphertextBytes / 2)
        return self
    }
}
