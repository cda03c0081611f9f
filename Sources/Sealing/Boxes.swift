import BackupCore
import Crypto
import Foundation

/// AES-256-GCM boxes (docs/sealing.md): a random nonce, the ciphertext with its tag.
enum Boxes {
    static func seal(_ plaintext: Data, key: Data, aad: String) throws -> SealedBox {
        let box = try AES.GCM.seal(plaintext, using: SymmetricKey(data: key), authenticating: Data(aad.utf8))
        return SealedBox(nonce: Data(box.nonce).base64EncodedString(), ct: (box.ciphertext + box.tag).base64EncodedString())
    }

    /// Opens a box; nil when the key or aad is wrong or the box was altered.
    static func open(_ sealed: SealedBox, key: Data, aad: String) -> Data? {
        guard key.count == 32, let nonceBytes = Data(base64Encoded: sealed.nonce), let bytes = Data(base64Encoded: sealed.ct), bytes.count >= 16,
            let nonce = try? AES.GCM.Nonce(data: nonceBytes),
            let box = try? AES.GCM.SealedBox(nonce: nonce, ciphertext: bytes.dropLast(16), tag: bytes.suffix(16))
        else { return nil }
        return try? AES.GCM.open(box, using: SymmetricKey(data: key), authenticating: Data(aad.utf8))
    }

    static func randomBytes(_ count: Int) -> Data {
        SymmetricKey(size: SymmetricKeySize(bitCount: count * 8)).withUnsafeBytes { Data($0) }
    }
}

/// The binding strings of docs/sealing.md, in one place.
enum Binding {
    static func envelope(accountID: String, destinationID: String, serverID: String, keyID: String) -> Data {
        Data("mzpanel-envelope/v1\n\(accountID)\n\(destinationID)\n\(serverID)\n\(keyID)".utf8)
    }
    static func credential(accountID: String, destinationID: String) -> String {
        "mzpanel-credential/v1\n\(accountID)\n\(destinationID)"
    }
    static func vault(accountID: String, part: String) -> String {
        "mzpanel-vault/v1\n\(accountID)\n\(part)"
    }
    static func destinationKey(accountID: String, destinationID: String) -> String {
        "mzpanel-ddk/v1\n\(accountID)\n\(destinationID)"
    }
}
