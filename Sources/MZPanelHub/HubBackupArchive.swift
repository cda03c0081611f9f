import Crypto
import Foundation
import MZPanelCLI
import _CryptoExtras

/// A hub backup file: the database (an SQLite copy or a PostgreSQL dump) and the other files of
/// the data directory, encrypted with a key derived from a passphrase.
///
/// Layout: the line `MZPANEL-HUB-BACKUP 1`, a 16-byte salt, the PBKDF2-SHA256 rounds (UInt32, big
/// endian), then one AES-256-GCM box (nonce, ciphertext, tag) whose additional data is everything
/// before it. The box holds the JSON `Contents`.
struct HubBackupArchive {
    struct Contents: Codable {
        struct File: Codable {
            /// Relative to the data directory; `database.sql` is a PostgreSQL dump.
            var path: String
            var data: Data
        }
        var formatVersion: Int
        var hubVersion: String
        var created: Date
        /// `sqlite` or `postgresql`.
        var engine: String
        var files: [File]
    }

    static let magic = Data("MZPANEL-HUB-BACKUP 1\n".utf8)
    static let rounds: UInt32 = 600_000
    static let minimumPassphraseLength = 12

    static func seal(_ contents: Contents, passphrase: String) throws -> Data {
        try checkPassphrase(passphrase)
        var header = magic
        let salt = Data((0..<16).map { _ in UInt8.random(in: .min ... .max) })
        header.append(salt)
        withUnsafeBytes(of: rounds.bigEndian) { header.append(contentsOf: $0) }
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        let plaintext = try encoder.encode(contents)
        let box = try AES.GCM.seal(plaintext, using: try key(passphrase, salt: salt, rounds: rounds), authenticating: header)
        guard let combined = box.combined else { throw CLIError("cannot encrypt the backup") }
        return header + combined
    }

    static func open(_ data: Data, passphrase: String) throws -> Contents {
        guard data.starts(with: magic), data.count > magic.count + 20 + 28 else {
            throw CLIError("this is not a hub backup made by `mzpanel admin backup` (or it is cut short)")
        }
        let salt = data.subdata(in: magic.count..<(magic.count + 16))
        let rounds = data.subdata(in: (magic.count + 16)..<(magic.count + 20)).reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        guard (100_000...10_000_000).contains(rounds) else {
            throw CLIError("the backup's key derivation settings are out of range; the file is damaged")
        }
        let header = data.prefix(magic.count + 20)
        let plaintext: Data
        do {
            let box = try AES.GCM.SealedBox(combined: data.dropFirst(magic.count + 20))
            plaintext = try AES.GCM.open(box, using: try key(passphrase, salt: salt, rounds: rounds), authenticating: header)
        } catch {
            throw CLIError("cannot decrypt the backup: wrong passphrase, or the file was changed")
        }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        let contents = try decoder.decode(Contents.self, from: plaintext)
        guard contents.formatVersion == 1 else {
            throw CLIError("the backup's format \(contents.formatVersion) is newer than this mzpanel; restore it with a newer version")
        }
        return contents
    }

    static func checkPassphrase(_ passphrase: String) throws {
        guard passphrase.count >= minimumPassphraseLength else {
            throw CLIError("the backup passphrase needs at least \(minimumPassphraseLength) characters")
        }
    }

    private static func key(_ passphrase: String, salt: Data, rounds: UInt32) throws -> SymmetricKey {
        try KDF.Insecure.PBKDF2.deriveKey(
            from: Data(passphrase.utf8), salt: salt, using: .sha256, outputByteCount: 32, unsafeUncheckedRounds: Int(rounds))
    }
}
