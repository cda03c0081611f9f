import BackupCore
import Foundation
import Sealing
import Testing

@Suite("account signing key and server certificates")
struct SigningTests {
    @Test func aNewVaultCarriesASigningKeyThatOnlyItsVaultKeyOpens() throws {
        let created = try Vault.create(accountID: "acc_1", passphrase: "a long passphrase")
        #expect(created.document.signingKey == created.signingKey.publicKey.base64EncodedString())
        _ = try created.document.validated()
        let opened = try #require(try Vault.signingKey(created.document, accountID: "acc_1", vaultKey: created.vaultKey))
        #expect(opened.publicKey == created.signingKey.publicKey)
        #expect(throws: SealingError.self) { try Vault.signingKey(created.document, accountID: "acc_2", vaultKey: created.vaultKey) }
        let unlocked = try Vault.unlock(created.document, accountID: "acc_1", passphrase: "a long passphrase")
        #expect(try Vault.signingKey(created.document, accountID: "acc_1", vaultKey: unlocked)?.fingerprint == created.signingKey.fingerprint)
    }

    @Test func aSwappedPublicKeyInTheDocumentIsCaught() throws {
        let created = try Vault.create(accountID: "acc_1", passphrase: "a long passphrase")
        var altered = created.document
        altered.signingKey = try AccountSigningKey.generate().publicKey.base64EncodedString()
        #expect(throws: SealingError.self) { try Vault.signingKey(altered, accountID: "acc_1", vaultKey: created.vaultKey) }
    }

    @Test func anOlderVaultGetsASigningKeyOnUnlock() throws {
        let created = try Vault.create(accountID: "acc_1", passphrase: "a long passphrase")
        var old = created.document
        old.signing = nil
        old.signingKey = nil
        _ = try old.validated()
        #expect(try Vault.signingKey(old, accountID: "acc_1", vaultKey: created.vaultKey) == nil)
        let (upgraded, key) = try Vault.addingSigningKey(old, accountID: "acc_1", vaultKey: created.vaultKey)
        _ = try upgraded.validated()
        #expect(try Vault.signingKey(upgraded, accountID: "acc_1", vaultKey: created.vaultKey)?.publicKey == key.publicKey)
        #expect(upgraded.passphrase == old.passphrase && upgraded.recovery == old.recovery, "the passphrase and recovery boxes stay")
        var half = upgraded
        half.signingKey = nil
        #expect(throws: DomainError.self) { try half.validated() }
    }

    @Test func aCertificateHoldsForItsAccountServerAndKeyOnly() throws {
        let account = try AccountSigningKey.generate()
        let serverKey = Data((0..<32).map { UInt8($0) })
        let certificate = try ServerCertificate.issue(accountID: "acc_1", serverID: "srv_1", publicKey: serverKey, signingKey: account)
        let accountKey = account.publicKey
        #expect(ServerCertificate.isValid(certificate, accountID: "acc_1", serverID: "srv_1", publicKey: serverKey, accountKey: accountKey))
        #expect(!ServerCertificate.isValid(certificate, accountID: "acc_2", serverID: "srv_1", publicKey: serverKey, accountKey: accountKey))
        #expect(!ServerCertificate.isValid(certificate, accountID: "acc_1", serverID: "srv_2", publicKey: serverKey, accountKey: accountKey))
        var swapped = serverKey
        swapped[0] ^= 1
        #expect(!ServerCertificate.isValid(certificate, accountID: "acc_1", serverID: "srv_1", publicKey: swapped, accountKey: accountKey))
        let other = try AccountSigningKey.generate().publicKey
        #expect(!ServerCertificate.isValid(certificate, accountID: "acc_1", serverID: "srv_1", publicKey: serverKey, accountKey: other))
        #expect(!ServerCertificate.isValid(nil, accountID: "acc_1", serverID: "srv_1", publicKey: serverKey, accountKey: accountKey))
        #expect(
            !ServerCertificate.isValid("bm90IGEgc2lnbmF0dXJl", accountID: "acc_1", serverID: "srv_1", publicKey: serverKey, accountKey: accountKey))
    }
}
