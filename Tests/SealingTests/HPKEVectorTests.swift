import Crypto
import Foundation
import Testing

@testable import Sealing

/// RFC 9180's published vectors for base mode, X25519/HKDF-SHA256, AES-128-GCM and AES-256-GCM.
@Suite struct HPKEVectorTests {
    struct Vector: Decodable {
        let mode: Int
        let kem_id: Int
        let kdf_id: Int
        let aead_id: Int
        let info: String
        let ikmR: String
        let ikmE: String
        let skRm: String
        let pkRm: String
        let skEm: String
        let pkEm: String
        let enc: String
        let encryptions: [Encryption]
    }
    struct Encryption: Decodable {
        let aad: String
        let pt: String
        let ct: String
    }

    static func vectors() throws -> [Vector] {
        let url = try #require(Bundle.module.url(forResource: "rfc9180-base-x25519-sha256-aesgcm", withExtension: "json", subdirectory: "Vectors"))
        return try JSONDecoder().decode([Vector].self, from: Data(contentsOf: url))
    }

    @Test func theVectorFileCoversBothAEADs() throws {
        let vectors = try Self.vectors()
        #expect(Set(vectors.map(\.aead_id)) == [1, 2])
        #expect(vectors.allSatisfy { $0.mode == 0 && $0.kem_id == 32 && $0.kdf_id == 1 })
    }

    @Test func deriveKeyPairReproducesTheVectorKeys() throws {
        for vector in try Self.vectors() {
            let recipient = try HPKE.deriveKeyPair(ikm: hex(vector.ikmR))
            #expect(recipient.rawRepresentation == hex(vector.skRm))
            #expect(recipient.publicKey.rawRepresentation == hex(vector.pkRm))
            let ephemeral = try HPKE.deriveKeyPair(ikm: hex(vector.ikmE))
            #expect(ephemeral.rawRepresentation == hex(vector.skEm))
            #expect(ephemeral.publicKey.rawRepresentation == hex(vector.pkEm))
        }
    }

    @Test func sealingWithTheVectorEphemeralKeyReproducesEveryCiphertext() throws {
        var checked = 0
        for vector in try Self.vectors() {
            let aead = try #require(HPKE.AEAD(rawValue: UInt16(vector.aead_id)))
            let recipient = try Curve25519.KeyAgreement.PublicKey(rawRepresentation: hex(vector.pkRm))
            let ephemeral = try Curve25519.KeyAgreement.PrivateKey(rawRepresentation: hex(vector.skEm))
            var sender = try HPKE.Sender(recipient: recipient, info: hex(vector.info), aead: aead, ephemeral: ephemeral)
            #expect(sender.enc == hex(vector.enc))
            for encryption in vector.encryptions {
                #expect(try sender.seal(hex(encryption.pt), aad: hex(encryption.aad)) == hex(encryption.ct))
                checked += 1
            }
        }
        #expect(checked > 100)
    }

    @Test func openingEveryVectorCiphertextInSequenceGivesThePlaintext() throws {
        for vector in try Self.vectors() {
            let aead = try #require(HPKE.AEAD(rawValue: UInt16(vector.aead_id)))
            let key = try Curve25519.KeyAgreement.PrivateKey(rawRepresentation: hex(vector.skRm))
            var recipient = try HPKE.Recipient(privateKey: key, enc: hex(vector.enc), info: hex(vector.info), aead: aead)
            for encryption in vector.encryptions {
                #expect(try recipient.open(hex(encryption.ct), aad: hex(encryption.aad)) == hex(encryption.pt))
            }
        }
    }

    @Test func swiftCryptosOwnHPKEOpensWhatThisSeals() throws {
        let key = Curve25519.KeyAgreement.PrivateKey()
        let info = Data("info".utf8)
        var sender = try HPKE.Sender(recipient: key.publicKey, info: info)
        let first = try sender.seal(Data("one".utf8), aad: Data("a".utf8))
        let second = try sender.seal(Data("two".utf8), aad: Data("b".utf8))
        var recipient = try Crypto.HPKE.Recipient(
            privateKey: key, ciphersuite: .init(kem: .Curve25519_HKDF_SHA256, kdf: .HKDF_SHA256, aead: .AES_GCM_256),
            info: info, encapsulatedKey: sender.enc)
        #expect(try recipient.open(first, authenticating: Data("a".utf8)) == Data("one".utf8))
        #expect(try recipient.open(second, authenticating: Data("b".utf8)) == Data("two".utf8))
    }
}

func hex(_ text: String) -> Data {
    var data = Data(capacity: text.count / 2)
    var index = text.startIndex
    while index < text.endIndex {
        let next = text.index(index, offsetBy: 2)
        data.append(UInt8(text[index..<next], radix: 16)!)
        index = next
    }
    return data
}
