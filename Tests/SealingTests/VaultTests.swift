import BackupCore
import Foundation
import Testing

@testable import Sealing

@Suite struct VaultTests {
    @Test func passphraseAndRecoveryKeyUnlockTheSameVaultKey() throws {
        let created = try Vault.create(accountID: "acc_1", passphrase: "correct horse battery")
        #expect(created.document.iterations >= 600_000)
        #expect(try created.document.validated() == created.document)
        #expect(try Vault.unlock(created.document, accountID: "acc_1", passphrase: "correct horse battery") == created.vaultKey)
        #expect(try Vault.unlock(created.document, accountID: "acc_1", recoveryKey: created.recoveryKey.lowercased()) == created.vaultKey)
        #expect(throws: SealingError.wrongPassphrase) { try Vault.unlock(created.document, accountID: "acc_1", passphrase: "wrong horse battery") }
        #expect(throws: SealingError.wrongPassphrase) { try Vault.unlock(created.document, accountID: "acc_2", passphrase: "correct horse battery") }
        #expect(throws: SealingError.wrongRecoveryKey) { try Vault.unlock(created.document, accountID: "acc_1", recoveryKey: "AAAA-BBBB") }
    }

    @Test func aShortPassphraseIsRefused() {
        #expect(throws: SealingError.self) { try Vault.create(accountID: "acc_1", passphrase: "short") }
    }

    @Test func aVaultWithIterationsOutsideTheBrowsersBoundsIsRefusedBeforeDerivingAKey() throws {
        let created = try Vault.create(accountID: "acc_1", passphrase: "a long passphrase")
        var lowered = created.document
        lowered.iterations = 1
        #expect(throws: SealingError.self) { try Vault.unlock(lowered, accountID: "acc_1", passphrase: "a long passphrase") }
        #expect(throws: SealingError.self) {
            try Vault.changePassphrase(lowered, accountID: "acc_1", vaultKey: created.vaultKey, to: "another long passphrase")
        }
        var raised = created.document
        raised.iterations = 2_000_000_000
        #expect(throws: SealingError.self) { try Vault.unlock(raised, accountID: "acc_1", recoveryKey: created.recoveryKey) }
        #expect(throws: SealingError.self) { try Vault.create(accountID: "acc_1", passphrase: "a long passphrase", iterations: 1000) }
    }

    @Test func changingThePassphraseKeepsTheVaultKey() throws {
        let created = try Vault.create(accountID: "acc_1", passphrase: "first passphrase", iterations: 600_000)
        let changed = try Vault.changePassphrase(created.document, accountID: "acc_1", vaultKey: created.vaultKey, to: "second passphrase")
        #expect(try Vault.unlock(changed, accountID: "acc_1", passphrase: "second passphrase") == created.vaultKey)
        #expect(throws: SealingError.wrongPassphrase) { try Vault.unlock(changed, accountID: "acc_1", passphrase: "first passphrase") }
    }

    @Test func recoveryKeysRoundTripThroughBase32() throws {
        for _ in 0..<20 {
            let bytes = Boxes.randomBytes(32)
            let text = RecoveryKey.format(bytes)
            #expect(text.count == 52 + 12)
            #expect(RecoveryKey.parse(text) == bytes)
            #expect(RecoveryKey.parse(text.replacingOccurrences(of: "-", with: " ").lowercased()) == bytes)
        }
        // RFC 4648 test vector: "foobar" → MZXW6YTBOI
        #expect(RecoveryKey.format(Data("foobar".utf8)).replacingOccurrences(of: "-", with: "") == "MZXW6YTBOI")
        #expect(RecoveryKey.parse("1111-" + String(repeating: "A", count: 48)) == nil)
    }

    @Test func aDestinationKeyReopensWithTheVaultKeyOnly() throws {
        let vault = try Vault.create(accountID: "acc_1", passphrase: "correct horse battery")
        let credential = DestinationCredential(fields: ["repositoryPassword": "pw", "accessKeyID": "a", "secretAccessKey": "s"])
        let (record, dataKey) = try DestinationKey.create(
            accountID: "acc_1", destinationID: "dst_1", vaultKey: vault.vaultKey, credential: credential)
        #expect(try record.validated() == record)
        #expect(try DestinationKey.open(record, accountID: "acc_1", destinationID: "dst_1", vaultKey: vault.vaultKey) == dataKey)
        #expect(try DestinationKey.credential(record, accountID: "acc_1", destinationID: "dst_1", dataKey: dataKey) == credential)
        #expect(throws: SealingError.self) { try DestinationKey.open(record, accountID: "acc_1", destinationID: "dst_2", vaultKey: vault.vaultKey) }
        #expect(throws: SealingError.self) {
            try DestinationKey.open(record, accountID: "acc_1", destinationID: "dst_1", vaultKey: Boxes.randomBytes(32))
        }
    }

    @Test func peerLoginsHashForHtpasswd() {
        let login = PeerLogin(user: "srv_1", password: "password")
        // SHA-1("password") = 5baa61e4c9b93f3f0682250b6cf8331b7ee68fd8
        #expect(login.htpasswdLine == "srv_1:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=")
        let generated = PeerLogin.generate(serverID: "srv_2")
        #expect(generated.password.count == 43 && !generated.password.contains("="))
    }

    @Test func credentialsNameTheMissingMember() {
        #expect(throws: SealingError.invalid("a s3 credential needs secretAccessKey")) {
            try DestinationCredential(fields: ["repositoryPassword": "p", "accessKeyID": "a"]).validate(for: .s3)
        }
    }
}
