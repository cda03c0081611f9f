import Foundation

/// A member's own vault key as the hub keeps it (docs/sealing.md, "Member wrappings"): the raw X25519 public key
/// (base64) and the private key boxed under a key derived from the member's own passphrase. Made and opened only on
/// the member's machine (`Sealing.MemberVault`).
public struct MemberKeyDocument: Sendable, Codable, Equatable {
    public var v: Int
    public var memberID: String
    /// The raw X25519 public key, base64.
    public var publicKey: String
    public var iterations: Int
    public var salt: String
    public var privateKey: SealedBox

    public init(v: Int, memberID: String, publicKey: String, iterations: Int, salt: String, privateKey: SealedBox) {
        self.v = v
        self.memberID = memberID
        self.publicKey = publicKey
        self.iterations = iterations
        self.salt = salt
        self.privateKey = privateKey
    }

    /// Checks the shape (what the hub can check without the passphrase) for the member `memberID`.
    public func validated(memberID expected: String) throws(DomainError) -> MemberKeyDocument {
        guard v == 1 else { throw .invalid("key.v", "member key format \(v) is unknown; this hub stores version 1") }
        guard memberID == expected else {
            throw .invalid("key.memberID", "must be your own member id (\(expected)); a member key is made by the member it belongs to")
        }
        guard let raw = Data(base64Encoded: publicKey), raw.count == 32 else {
            throw .invalid("key.publicKey", "must be base64 of a raw 32-byte X25519 public key")
        }
        guard VaultDocument.iterationRange.contains(iterations) else {
            throw .invalid("key.iterations", "\(iterations) is out of range; use 600,000 to 10,000,000 PBKDF2 iterations")
        }
        guard let salt = Data(base64Encoded: salt), salt.count == 16 else { throw .invalid("key.salt", "must be base64 of 16 random bytes") }
        _ = try privateKey.validated(field: "key.privateKey", maxBytes: 64)
        return self
    }
}
