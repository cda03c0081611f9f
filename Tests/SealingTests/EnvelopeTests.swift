import BackupCore
import Crypto
import Foundation
import Testing

@testable import Sealing

@Suite struct EnvelopeTests {
    let server = Curve25519.KeyAgreement.PrivateKey()
    let credential = DestinationCredential(fields: ["repositoryPassword": "restic-pw-1", "accessKeyID": "AKIA1", "secretAccessKey": "s3cr3t"])

    func address(account: String = "acc_1", destination: String = "dst_1", server serverID: String = "srv_1", key: Data? = nil) -> Envelope.Address {
        Envelope.Address(
            accountID: account, destinationID: destination, serverID: serverID,
            keyID: KeyFingerprint.of(key ?? server.publicKey.rawRepresentation))
    }

    func sealed(secrets: [String: String]? = nil) throws -> (Data, DestinationKeyRecord) {
        let vaultKey = Boxes.randomBytes(32)
        let (record, dataKey) = try DestinationKey.create(accountID: "acc_1", destinationID: "dst_1", vaultKey: vaultKey, credential: credential)
        let bytes = try Envelope.seal(
            to: address(), serverPublicKey: server.publicKey.rawRepresentation, dataKey: dataKey,
            credentialBox: record.credential, serverSecrets: secrets)
        return (bytes, record)
    }

    @Test func theServerOpensItsEnvelope() throws {
        let login = PeerLogin.generate(serverID: "srv_1")
        let (bytes, _) = try sealed(secrets: login.serverSecrets)
        let opened = try Envelope.open(bytes, address: address(), privateKey: server)
        #expect(opened.credential == credential)
        #expect(opened.serverSecrets == ["restUser": "srv_1", "restPassword": login.password])
        let text = String(decoding: bytes, as: UTF8.self)
        #expect(!text.contains("s3cr3t") && !text.contains("restic-pw-1") && !text.contains(login.password))
    }

    @Test func anotherServerDestinationOrAccountCannotOpenIt() throws {
        let (bytes, _) = try sealed()
        let other = Curve25519.KeyAgreement.PrivateKey()
        for (candidate, key) in [
            (address(server: "srv_2"), server), (address(destination: "dst_2"), server),
            (address(account: "acc_2"), server), (address(key: other.publicKey.rawRepresentation), other),
            (address(), other),
        ] {
            #expect(throws: SealingError.cannotOpen) { try Envelope.open(bytes, address: candidate, privateKey: key) }
        }
    }

    @Test func anAlteredEnvelopeIsRefused() throws {
        let (bytes, _) = try sealed(secrets: ["restUser": "u", "restPassword": "p"])
        var document = try JSONSerialization.jsonObject(with: bytes) as! [String: Any]
        for key in ["enc", "ddk", "server"] {
            var altered = document
            var raw = Data(base64Encoded: altered[key] as! String)!
            raw[raw.count / 2] ^= 0x01
            altered[key] = raw.base64EncodedString()
            let data = try JSONSerialization.data(withJSONObject: altered)
            #expect(throws: SealingError.cannotOpen) { try Envelope.open(data, address: address(), privateKey: server) }
        }
        var box = document["credential"] as! [String: String]
        var raw = Data(base64Encoded: box["ct"]!)!
        raw[0] ^= 0x80
        box["ct"] = raw.base64EncodedString()
        document["credential"] = box
        let data = try JSONSerialization.data(withJSONObject: document)
        #expect(throws: SealingError.cannotOpen) { try Envelope.open(data, address: address(), privateKey: server) }
        #expect(throws: SealingError.cannotOpen) { try Envelope.open(Data("not json".utf8), address: address(), privateKey: server) }
    }

    @Test func aCredentialBoxFromAnotherDestinationIsRefused() throws {
        let vaultKey = Boxes.randomBytes(32)
        let (record, dataKey) = try DestinationKey.create(accountID: "acc_1", destinationID: "dst_1", vaultKey: vaultKey, credential: credential)
        let (otherRecord, _) = try DestinationKey.create(accountID: "acc_1", destinationID: "dst_2", vaultKey: vaultKey, credential: credential)
        _ = record
        let swapped = try Envelope.seal(
            to: address(), serverPublicKey: server.publicKey.rawRepresentation, dataKey: dataKey,
            credentialBox: otherRecord.credential)
        #expect(throws: SealingError.cannotOpen) { try Envelope.open(swapped, address: address(), privateKey: server) }
    }

    @Test func sealingRefusesAKeyIDThatIsNotTheKeysFingerprint() throws {
        let wrong = Envelope.Address(accountID: "acc_1", destinationID: "dst_1", serverID: "srv_1", keyID: "0000:0000")
        #expect(throws: SealingError.self) {
            try Envelope.seal(
                to: wrong, serverPublicKey: server.publicKey.rawRepresentation, dataKey: Boxes.randomBytes(32),
                credentialBox: SealedBox(nonce: "", ct: ""))
        }
    }

    @Test func theErrorSaysTheCredentialCannotBeOpenedOnThisServer() {
        #expect(SealingError.cannotOpen.description.hasPrefix("the credential cannot be opened on this server"))
    }
}

@Suite("rotating a credential's repository password")
struct CredentialRotationTests {
    @Test("the current password leads the former ones, without repeats, at most five")
    func formerPasswords() {
        var credential = DestinationCredential(fields: ["repositoryPassword": "p0", "accessKeyID": "id"])
        for index in 1...7 { credential = credential.rotatingRepositoryPassword(to: "p\(index)") }
        #expect(credential.repositoryPassword == "p7")
        #expect(credential.formerRepositoryPasswords == ["p6", "p5", "p4", "p3", "p2"])
        #expect(credential.fields["accessKeyID"] == "id")
        let again = credential.rotatingRepositoryPassword(to: "p5")
        #expect(again.formerRepositoryPasswords == ["p7", "p6", "p4", "p3", "p2"])
        #expect(DestinationCredential(fields: ["repositoryPassword": "x"]).formerRepositoryPasswords.isEmpty)
    }
}
