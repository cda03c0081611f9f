import BackupCore
import Foundation

/// `PUT /api/v1/vault/member-key`: the caller's own member key (made on their machine, docs/sealing.md).
public struct MemberKeyRequest: Codable, Sendable {
    public let key: MemberKeyDocument
    public init(key: MemberKeyDocument) { self.key = key }
}

/// A member's vault key as the API shows it: who, the key, its fingerprint and whether the vault key is sealed to
/// it. `wrapping` is only ever the caller's own (`GET /api/v1/vault/member-key`, `GET /api/v1/vault`).
public struct MemberVaultEntry: Codable, Sendable, Equatable {
    public let memberID: String
    public let email: String?
    public let key: MemberKeyDocument
    /// The public key's fingerprint: the member reads it on their own screen, the granter compares it.
    public let keyID: String
    public let wrapped: Bool
    public let wrapping: String?
    public let updatedAt: Date

    public init(memberID: String, email: String?, key: MemberKeyDocument, keyID: String, wrapped: Bool, wrapping: String?, updatedAt: Date) {
        self.memberID = memberID
        self.email = email
        self.key = key
        self.keyID = keyID
        self.wrapped = wrapped
        self.wrapping = wrapping
        self.updatedAt = updatedAt
    }
}

/// `GET /api/v1/vault/members`.
public struct MemberVaultList: Codable, Sendable {
    /// The caller's own member id (what their key must name); nil for a token made before members existed.
    public let you: String?
    public let members: [MemberVaultEntry]
    public init(you: String?, members: [MemberVaultEntry]) {
        self.you = you
        self.members = members
    }
}

/// `PUT /api/v1/vault/members/{member}/wrapping`: the vault key sealed to the member's key `keyID`.
public struct MemberWrappingRequest: Codable, Sendable {
    public let keyID: String
    public let wrapping: String
    public init(keyID: String, wrapping: String) {
        self.keyID = keyID
        self.wrapping = wrapping
    }

    /// Checks the form `1.<keyID>.<base64 32-byte enc>.<base64 48-byte ciphertext>` and that it names `keyID`.
    public func validated() throws(DomainError) -> MemberWrappingRequest {
        guard keyID.count <= 64, wrapping.utf8.count <= 512 else {
            throw .invalid(keyID.count > 64 ? "keyID" : "wrapping", "is too long: a key id has 39 characters, a wrapping about 200")
        }
        let parts = wrapping.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4, parts[0] == "1" else {
            throw .invalid("wrapping", "must be 1.<keyID>.<enc>.<ciphertext>, as `mzpanel vault grant` or the web form makes it")
        }
        guard String(parts[1]) == keyID else {
            throw .invalid("wrapping", "is sealed to the key \(parts[1]), not to keyID \(keyID); seal it to the member's current key")
        }
        guard Data(base64Encoded: String(parts[2]))?.count == 32, Data(base64Encoded: String(parts[3]))?.count == 48 else {
            throw .invalid("wrapping", "must carry base64 of a 32-byte HPKE encapsulated key and of the 48-byte sealed vault key")
        }
        return self
    }
}

/// `GET /api/v1/vault`: the vault document and, when the caller has a member key, their own key and wrapping.
public struct VaultView: Codable, Sendable {
    public let vault: VaultDocument
    public let member: MemberVaultEntry?

    public init(vault: VaultDocument, member: MemberVaultEntry?) {
        self.vault = vault
        self.member = member
    }

    enum CodingKeys: String, CodingKey { case member }

    /// The document's own fields, plus `member` (clients that read a `VaultDocument` ignore it).
    public init(from decoder: any Decoder) throws {
        vault = try VaultDocument(from: decoder)
        member = try decoder.container(keyedBy: CodingKeys.self).decodeIfPresent(MemberVaultEntry.self, forKey: .member)
    }

    public func encode(to encoder: any Encoder) throws {
        try vault.encode(to: encoder)
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeIfPresent(member, forKey: .member)
    }
}
