import BackupCore
import Crypto
import Foundation
import _CryptoExtras

/// The account vault (docs/sealing.md, "Vault"): a random vault key, boxed under a key derived
/// from the user's passphrase (PBKDF2-SHA256) and under a printable recovery key.
public enum Vault {
    public static let minimumPassphraseLength = 12

    /// A new vault, its recovery key (show it once) and the unlocked vault key.
    public struct Created: Sendable {
        public var document: VaultDocument
        public var recoveryKey: String
        public var vaultKey: Data
        public var signingKey: AccountSigningKey
    }

    public static func create(accountID: String, passphrase: String, iterations: Int = VaultDocument.minimumIterations) throws -> Created {
        try checkPassphrase(passphrase)
        guard VaultDocument.iterationRange.contains(iterations) else {
            throw SealingError.invalid("\(iterations) PBKDF2 iterations are out of range; use 600,000 to 10,000,000")
        }
        let vaultKey = Boxes.randomBytes(32)
        let recovery = Boxes.randomBytes(32)
        let salt = Boxes.randomBytes(16)
        let passphraseKey = try derive(passphrase, salt: salt, iterations: iterations)
        let document = VaultDocument(
            iterations: iterations, salt: salt.base64EncodedString(),
            passphrase: try Boxes.seal(vaultKey, key: passphraseKey, aad: Binding.vault(accountID: accountID, part: "passphrase")),
            recovery: try Boxes.seal(vaultKey, key: recovery, aad: Binding.vault(accountID: accountID, part: "recovery")))
        let (signed, signingKey) = try addingSigningKey(document, accountID: accountID, vaultKey: vaultKey)
        return Created(document: signed, recoveryKey: RecoveryKey.format(recovery), vaultKey: vaultKey, signingKey: signingKey)
    }

    /// The account signing key inside an unlocked vault; nil for a vault made before signing
    /// existed. Throws when the box does not open or its key is not the document's public key
    /// (an altered document).
    public static func signingKey(_ document: VaultDocument, accountID: String, vaultKey: Data) throws -> AccountSigningKey? {
        guard let box = document.signing else { return nil }
        guard let seed = Boxes.open(box, key: vaultKey, aad: Binding.vault(accountID: accountID, part: "signing")), seed.count == 32 else {
            throw SealingError.invalid("the vault's signing key does not open with this vault key: the vault document was altered")
        }
        let key = try AccountSigningKey(seed: seed)
        guard document.signingKey == key.publicKey.base64EncodedString() else {
            throw SealingError.invalid("the vault's public signing key is not the one inside it: the vault document was altered")
        }
        return key
    }

    /// The document with a new signing key boxed under the vault key (for vaults made before
    /// signing existed, on their next unlock).
    public static func addingSigningKey(_ document: VaultDocument, accountID: String, vaultKey: Data) throws -> (VaultDocument, AccountSigningKey) {
        let key = try AccountSigningKey.generate()
        var changed = document
        changed.signing = try Boxes.seal(key.seed, key: vaultKey, aad: Binding.vault(accountID: accountID, part: "signing"))
        changed.signingKey = key.publicKey.base64EncodedString()
        return (changed, key)
    }

    public static func unlock(_ document: VaultDocument, accountID: String, passphrase: String) throws -> Data {
        try checkParameters(document)
        guard let salt = Data(base64Encoded: document.salt) else { throw SealingError.invalid("the vault's salt is damaged") }
        let key = try derive(passphrase, salt: salt, iterations: document.iterations)
        guard let vaultKey = Boxes.open(document.passphrase, key: key, aad: Binding.vault(accountID: accountID, part: "passphrase")),
            vaultKey.count == 32
        else { throw SealingError.wrongPassphrase }
        return vaultKey
    }

    public static func unlock(_ document: VaultDocument, accountID: String, recoveryKey text: String) throws -> Data {
        try checkParameters(document)
        guard let recovery = RecoveryKey.parse(text),
            let vaultKey = Boxes.open(document.recovery, key: recovery, aad: Binding.vault(accountID: accountID, part: "recovery")),
            vaultKey.count == 32
        else { throw SealingError.wrongRecoveryKey }
        return vaultKey
    }

    /// A new passphrase for an unlocked vault: same vault key and recovery box, new salt.
    public static func changePassphrase(_ document: VaultDocument, accountID: String, vaultKey: Data, to passphrase: String) throws -> VaultDocument {
        try checkPassphrase(passphrase)
        try checkParameters(document)
        var changed = document
        let salt = Boxes.randomBytes(16)
        changed.salt = salt.base64EncodedString()
        changed.passphrase = try Boxes.seal(
            vaultKey, key: try derive(passphrase, salt: salt, iterations: document.iterations),
            aad: Binding.vault(accountID: accountID, part: "passphrase"))
        return changed
    }

    /// The document's derivation parameters within the bounds the browser also holds: a hub that
    /// lowers the iterations (so a new passphrase box is cheap to brute-force) or raises them (so
    /// unlocking hangs) is refused before any key is derived.
    static func checkParameters(_ document: VaultDocument) throws {
        do { _ = try document.validated() } catch {
            throw SealingError.invalid("the vault document is not acceptable (\(error)); it was altered or is damaged: unlock it from a trusted copy")
        }
    }

    static func checkPassphrase(_ passphrase: String) throws {
        guard passphrase.count >= minimumPassphraseLength else {
            throw SealingError.invalid("the vault passphrase needs at least \(minimumPassphraseLength) characters")
        }
    }

    static func derive(_ passphrase: String, salt: Data, iterations: Int) throws -> Data {
        let key = try KDF.Insecure.PBKDF2.deriveKey(
            from: Data(passphrase.utf8), salt: salt, using: .sha256,
            outputByteCount: 32, unsafeUncheckedRounds: iterations)
        return key.withUnsafeBytes { Data($0) }
    }
}

/// The printable recovery key: RFC 4648 base32 of 32 bytes, groups of 4 joined by `-`.
public enum RecoveryKey {
    static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")

    public static func format(_ bytes: Data) -> String {
        var text = ""
        var buffer: UInt32 = 0
        var bits = 0
        for byte in bytes {
            buffer = (buffer << 8) | UInt32(byte)
            bits += 8
            while bits >= 5 {
                text.append(alphabet[Int((buffer >> UInt32(bits - 5)) & 31)])
                bits -= 5
            }
        }
        if bits > 0 { text.append(alphabet[Int((buffer << UInt32(5 - bits)) & 31)]) }
        return stride(from: 0, to: text.count, by: 4).map { start in
            let from = text.index(text.startIndex, offsetBy: start)
            return String(text[from..<text.index(from, offsetBy: min(4, text.count - start))])
        }.joined(separator: "-")
    }

    /// The 32 bytes, or nil when the text is not a recovery key.
    public static func parse(_ text: String) -> Data? {
        let clean = text.uppercased().filter { $0 != "-" && !$0.isWhitespace }
        guard clean.count == 52 else { return nil }
        var bytes = Data()
        var buffer: UInt32 = 0
        var bits = 0
        for character in clean {
            guard let value = alphabet.firstIndex(of: character) else { return nil }
            buffer = (buffer << 5) | UInt32(value)
            bits += 5
            if bits >= 8 {
                bytes.append(UInt8((buffer >> UInt32(bits - 8)) & 0xff))
                bits -= 8
            }
        }
        return bytes.count == 32 ? bytes : nil
    }
}
