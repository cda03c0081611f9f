import Crypto
import Foundation

/// Bearer secrets (API tokens, session cookies, enrollment tokens): random, prefixed by purpose,
/// stored only as SHA-256 hashes so a copy of the database cannot be replayed.
public enum Secrets {
    /// A new secret: `<prefix>_` and 40 base-32 characters (200 random bits).
    public static func make(prefix: String) -> String {
        let alphabet = Array("abcdefghijkmnpqrstuvwxyz23456789")
        var generator = SystemRandomNumberGenerator()
        let body = (0..<40).map { _ in alphabet[Int(generator.next() % UInt64(alphabet.count))] }
        return prefix + "_" + String(body)
    }

    /// The hex SHA-256 of a secret, as stored.
    public static func hash(_ secret: String) -> String {
        SHA256.hash(data: Data(secret.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    public static let apiTokenPrefix = "mzp"
    public static let sessionPrefix = "mzs"
    public static let enrollmentPrefix = "mze"
    /// The login form's cookie (a CSRF secret before any session exists).
    public static let loginFormPrefix = "mzl"
    /// A one-time invitation link's secret.
    public static let invitationPrefix = "mzi"
    /// The browser cookie binding a single sign-on to the browser that started it, and the ticket of its code step.
    public static let ssoPrefix = "mzo"
}
