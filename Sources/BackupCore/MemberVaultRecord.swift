import Foundation

/// A member's own access to the account vault as the hub keeps it (docs/sealing.md, "Member wrappings"): their
/// member key (the JSON of `Sealing.MemberVault.Key`: public key, private key boxed under their own passphrase),
/// the key's fingerprint, and the vault key sealed to that key by someone who could open the vault (nil until granted).
public struct MemberVaultRecord: Sendable, Equatable {
    public var accountID: String
    public var memberID: String
    /// The member key's JSON document.
    public var key: String
    /// The public key's fingerprint (what the member reads on their own screen and the granter checks).
    public var keyID: String
    /// The vault key sealed to the member key (`1.<keyID>.<enc>.<ciphertext>`), nil until someone grants it.
    public var wrapping: String?
    public var updatedAt: Date

    public init(accountID: String, memberID: String, key: String, keyID: String, wrapping: String? = nil, updatedAt: Date) {
        self.accountID = accountID
        self.memberID = memberID
        self.key = key
        self.keyID = keyID
        self.wrapping = wrapping
        self.updatedAt = updatedAt
    }
}
