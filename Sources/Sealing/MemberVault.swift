import BackupCore
import Crypto
import Foundation

/// Per-member access to the account vault (docs/sealing.md, "Member wrappings", issue 19): the
/// cryptographic part. Each member who may seal has their own X25519 key pair whose private half
/// is boxed under a key derived from *their own* passphrase (PBKDF2-SHA256, the vault's bounds);
/// someone who can already open the vault seals the vault key to that public key (HPKE base mode,
/// `info` and `aad` binding account, member and key fingerprint). The shared vault passphrase is
/// then no longer needed to seal, removing a member removes their key and wrapping, and the
/// recovery key is unchanged. The hub keeps keys and wrappings (`member_vault_keys`, `/api/v1/vault/member*`); the
/// CLI makes, grants and opens them (`mzpanel vault`); the browser's sealing forms open them (`sealing.js`).
public enum MemberVault {
    public static let version = 1

    /// A member's key as the hub keeps it: the public half and the private half boxed under their passphrase.
    public typealias Key = MemberKeyDocument

    /// A new member key under `passphrase`, and its private half (to unwrap at once).
    public static func createKey(
        accountID: String, memberID: String, passphrase: String, iterations: Int = VaultDocument.minimumIterations
    ) throws -> (Key, Curve25519.KeyAgreement.PrivateKey) {
        try Vault.checkPassphrase(passphrase)
        guard VaultDocument.iterationRange.contains(iterations) else {
            throw SealingError.invalid("\(iterations) PBKDF2 iterations are out of range; use 600,000 to 10,000,000")
        }
        let privateKey = Curve25519.KeyAgreement.PrivateKey()
        let salt = Boxes.randomBytes(16)
        let box = try Boxes.seal(
            privateKey.rawRepresentation, key: try Vault.derive(passphrase, salt: salt, iterations: iterations),
            aad: keyBinding(accountID: accountID, memberID: memberID))
        let key = Key(
            v: version, memberID: memberID, publicKey: privateKey.publicKey.rawRepresentation.base64EncodedString(), iterations: iterations,
            salt: salt.base64EncodedString(), privateKey: box)
        return (key, privateKey)
    }

    /// The member's private key, with their passphrase. Refuses derivation parameters outside the vault's bounds (a hub
    /// that lowered them) and a private key whose public half is not the one published (an altered key).
    public static func unlockKey(_ key: Key, accountID: String, memberID: String, passphrase: String) throws -> Curve25519.KeyAgreement.PrivateKey {
        guard key.v == version, key.memberID == memberID, VaultDocument.iterationRange.contains(key.iterations),
            let salt = Data(base64Encoded: key.salt), salt.count == 16
        else { throw SealingError.invalid("the member key is not acceptable; it was altered or is damaged") }
        guard
            let raw = Boxes.open(
                key.privateKey, key: try Vault.derive(passphrase, salt: salt, iterations: key.iterations),
                aad: keyBinding(accountID: accountID, memberID: memberID)),
            let privateKey = try? Curve25519.KeyAgreement.PrivateKey(rawRepresentation: raw)
        else { throw SealingError.wrongPassphrase }
        guard privateKey.publicKey.rawRepresentation.base64EncodedString() == key.publicKey else {
            throw SealingError.invalid("the member key's public half is not its private key's: the member key was altered")
        }
        return privateKey
    }

    /// Seals the (unlocked) vault key to a member's key: the bytes the hub would keep as that member's wrapping.
    /// The caller must have checked `key.keyID` against the fingerprint the member read on their own screen (as for
    /// a server key), or a hub that swapped the key would get the vault key.
    public static func wrap(vaultKey: Data, accountID: String, for key: Key) throws -> Data {
        guard vaultKey.count == 32 else { throw SealingError.invalid("a vault key has 32 bytes") }
        guard let raw = Data(base64Encoded: key.publicKey), let publicKey = try? Curve25519.KeyAgreement.PublicKey(rawRepresentation: raw) else {
            throw SealingError.invalid("the member's public key is not a 32-byte X25519 key")
        }
        let context = wrapBinding(accountID: accountID, memberID: key.memberID, keyID: key.keyID)
        var sender = try HPKE.Sender(recipient: publicKey, info: context)
        let sealed = try sender.seal(vaultKey, aad: context)
        return Data("\(version).\(key.keyID).".utf8) + Data((sender.enc.base64EncodedString() + "." + sealed.base64EncodedString()).utf8)
    }

    /// Opens a member's wrapping with their private key: the vault key. Every failure is `SealingError.cannotOpen`.
    public static func unwrap(_ wrapping: Data, accountID: String, memberID: String, privateKey: Curve25519.KeyAgreement.PrivateKey) throws -> Data {
        let parts = String(decoding: wrapping, as: UTF8.self).split(separator: ".", omittingEmptySubsequences: false)
        let keyID = KeyFingerprint.of(privateKey.publicKey.rawRepresentation)
        guard parts.count == 4, parts[0] == "\(version)", String(parts[1]) == keyID, let enc = Data(base64Encoded: String(parts[2])),
            let sealed = Data(base64Encoded: String(parts[3]))
        else { throw SealingError.cannotOpen }
        let context = wrapBinding(accountID: accountID, memberID: memberID, keyID: keyID)
        do {
            var recipient = try HPKE.Recipient(privateKey: privateKey, enc: enc, info: context)
            let vaultKey = try recipient.open(sealed, aad: context)
            guard vaultKey.count == 32 else { throw SealingError.cannotOpen }
            return vaultKey
        } catch {
            throw SealingError.cannotOpen
        }
    }

    static func keyBinding(accountID: String, memberID: String) -> String { "mzpanel-member-key/v1\n\(accountID)\n\(memberID)" }

    static func wrapBinding(accountID: String, memberID: String, keyID: String) -> Data {
        Data("mzpanel-member-vault/v1\n\(accountID)\n\(memberID)\n\(keyID)".utf8)
    }
}

extension MemberKeyDocument {
    /// The key id a wrapping names (the public key's fingerprint).
    public var keyID: String { KeyFingerprint.of(Data(base64Encoded: publicKey) ?? Data()) }
}
