import BackupCore
import Foundation
import Testing

@testable import Sealing

/// Per-member wrappings of the vault key: a member's own passphrase opens their key, their key opens the vault key an
/// existing holder sealed to it, and nothing opens for another account, member or key.
@Suite struct MemberVaultTests {
    @Test func aMembersOwnPassphraseOpensTheVaultKeyAHolderWrappedForThem() throws {
        let vault = try Vault.create(accountID: "acc_1", passphrase: "the shared passphrase")
        let (key, _) = try MemberVault.createKey(accountID: "acc_1", memberID: "usr_ops", passphrase: "ops own passphrase")
        #expect(key.keyID == KeyFingerprint.of(Data(base64Encoded: key.publicKey)!) && key.keyID.count == 39 && key.privateKey.ct.count > 0)
        // An owner who opened the vault seals the vault key to the member's key.
        let holder = try Vault.unlock(vault.document, accountID: "acc_1", passphrase: "the shared passphrase")
        let wrapping = try MemberVault.wrap(vaultKey: holder, accountID: "acc_1", for: key)
        #expect(!String(decoding: wrapping, as: UTF8.self).contains(holder.base64EncodedString()))
        // The member needs only their own passphrase.
        let privateKey = try MemberVault.unlockKey(key, accountID: "acc_1", memberID: "usr_ops", passphrase: "ops own passphrase")
        #expect(try MemberVault.unwrap(wrapping, accountID: "acc_1", memberID: "usr_ops", privateKey: privateKey) == vault.vaultKey)
        // The recovery key is unchanged.
        #expect(try Vault.unlock(vault.document, accountID: "acc_1", recoveryKey: vault.recoveryKey) == vault.vaultKey)
    }

    @Test func nothingOpensForAnotherPassphraseAccountMemberOrKey() throws {
        let vaultKey = Data((0..<32).map { _ in UInt8.random(in: 0...255) })
        let (key, privateKey) = try MemberVault.createKey(accountID: "acc_1", memberID: "usr_ops", passphrase: "ops own passphrase")
        #expect(throws: SealingError.wrongPassphrase) {
            try MemberVault.unlockKey(key, accountID: "acc_1", memberID: "usr_ops", passphrase: "not the passphrase")
        }
        #expect(throws: SealingError.wrongPassphrase) {
            try MemberVault.unlockKey(key, accountID: "acc_2", memberID: "usr_ops", passphrase: "ops own passphrase")
        }
        #expect(throws: SealingError.self) {
            try MemberVault.unlockKey(key, accountID: "acc_1", memberID: "usr_dev", passphrase: "ops own passphrase")
        }
        var lowered = key
        lowered.iterations = 1_000
        #expect(throws: SealingError.self) {
            try MemberVault.unlockKey(lowered, accountID: "acc_1", memberID: "usr_ops", passphrase: "ops own passphrase")
        }
        // A hub that swaps the published public key is caught when the private key is opened.
        var swapped = key
        swapped.publicKey = Curve25519PublicKey.random()
        #expect(throws: SealingError.self) {
            try MemberVault.unlockKey(swapped, accountID: "acc_1", memberID: "usr_ops", passphrase: "ops own passphrase")
        }

        let wrapping = try MemberVault.wrap(vaultKey: vaultKey, accountID: "acc_1", for: key)
        #expect(throws: SealingError.cannotOpen) { try MemberVault.unwrap(wrapping, accountID: "acc_2", memberID: "usr_ops", privateKey: privateKey) }
        #expect(throws: SealingError.cannotOpen) { try MemberVault.unwrap(wrapping, accountID: "acc_1", memberID: "usr_dev", privateKey: privateKey) }
        let (_, otherPrivate) = try MemberVault.createKey(accountID: "acc_1", memberID: "usr_ops", passphrase: "ops own passphrase")
        #expect(throws: SealingError.cannotOpen) {
            try MemberVault.unwrap(wrapping, accountID: "acc_1", memberID: "usr_ops", privateKey: otherPrivate)
        }
        var tampered = Array(wrapping)
        tampered[tampered.count - 3] ^= 1
        #expect(throws: SealingError.cannotOpen) {
            try MemberVault.unwrap(Data(tampered), accountID: "acc_1", memberID: "usr_ops", privateKey: privateKey)
        }
        #expect(throws: SealingError.self) { try MemberVault.createKey(accountID: "acc_1", memberID: "usr_ops", passphrase: "short") }
    }
}

enum Curve25519PublicKey {
    static func random() -> String {
        Data((0..<32).map { _ in UInt8.random(in: 0...255) }).base64EncodedString()
    }
}
