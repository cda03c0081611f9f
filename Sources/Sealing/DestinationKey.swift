import BackupCore
import Crypto
import Foundation

/// Destination key records (docs/sealing.md): the DDK wrapped under the vault key plus the
/// credential box, so a new server can be sealed to without typing the credential again.
public enum DestinationKey {
    /// A new data key for a destination, its record and the data key itself (to seal envelopes now).
    public static func create(
        accountID: String, destinationID: String, vaultKey: Data,
        credential: DestinationCredential
    ) throws -> (record: DestinationKeyRecord, dataKey: Data) {
        let dataKey = Boxes.randomBytes(32)
        let record = DestinationKeyRecord(
            wrappedKey: try Boxes.seal(dataKey, key: vaultKey, aad: Binding.destinationKey(accountID: accountID, destinationID: destinationID)),
            credential: try Boxes.seal(
                try credential.json(), key: dataKey, aad: Binding.credential(accountID: accountID, destinationID: destinationID)))
        return (record, dataKey)
    }

    /// The data key, unwrapped with the vault key.
    public static func open(_ record: DestinationKeyRecord, accountID: String, destinationID: String, vaultKey: Data) throws -> Data {
        guard
            let dataKey = Boxes.open(
                record.wrappedKey, key: vaultKey, aad: Binding.destinationKey(accountID: accountID, destinationID: destinationID)),
            dataKey.count == 32
        else {
            throw SealingError.invalid("the destination's key does not open with this vault (it was made with another vault, or altered)")
        }
        return dataKey
    }

    /// The credential inside a record (the CLI shows which members are set, never their values).
    public static func credential(_ record: DestinationKeyRecord, accountID: String, destinationID: String, dataKey: Data) throws
        -> DestinationCredential
    {
        guard let plaintext = Boxes.open(record.credential, key: dataKey, aad: Binding.credential(accountID: accountID, destinationID: destinationID))
        else {
            throw SealingError.cannotOpen
        }
        return try DestinationCredential.decode(plaintext)
    }
}

/// A source server's login to a peer destination (docs/sealing.md, "Peer logins").
public struct PeerLogin: Sendable, Equatable {
    public var user: String
    public var password: String

    public static func generate(serverID: String) -> PeerLogin {
        PeerLogin(user: serverID, password: randomPassword())
    }

    /// 32 random bytes as base64url without padding (43 characters): peer and repository passwords.
    public static func randomPassword() -> String {
        Boxes.randomBytes(32).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    /// `user:{SHA}base64(SHA-1(password))`, the line the storage server's htpasswd file gets.
    public var htpasswdLine: String { "\(user):\(Self.hash(password))" }

    public static func hash(_ password: String) -> String {
        "{SHA}" + Data(Insecure.SHA1.hash(data: Data(password.utf8))).base64EncodedString()
    }

    /// The envelope's `server` part.
    public var serverSecrets: [String: String] { ["restUser": user, "restPassword": password] }
}
