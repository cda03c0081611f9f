import Foundation

/// A server key certified by the account (docs/sealing.md, "Server certificates"): the account
/// signing key's signature over the account, the server and the server's public key. Browsers
/// and the CLI seal only to keys certified by the signing key they opened from the vault, so a
/// hub that swaps a server's key gets nothing sealed to it.
public enum ServerCertificate {
    public static func message(accountID: String, serverID: String, publicKey: Data) -> Data {
        Data("mzpanel-server-certificate/v1\n\(accountID)\n\(serverID)\n\(publicKey.base64EncodedString())".utf8)
    }

    /// The certificate (base64 of the 64-byte signature) the hub stores with the server.
    public static func issue(accountID: String, serverID: String, publicKey: Data, signingKey: AccountSigningKey) throws -> String {
        try signingKey.sign(message(accountID: accountID, serverID: serverID, publicKey: publicKey)).base64EncodedString()
    }

    public static func isValid(_ certificate: String?, accountID: String, serverID: String, publicKey: Data, accountKey: Data) -> Bool {
        guard let certificate, let signature = Data(base64Encoded: certificate) else { return false }
        return AccountSigningKey.verify(signature, of: message(accountID: accountID, serverID: serverID, publicKey: publicKey), publicKey: accountKey)
    }
}
