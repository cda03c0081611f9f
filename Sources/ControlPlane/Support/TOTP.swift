import Crypto
import Foundation

/// Time-based one-time passwords (RFC 6238 over RFC 4226): HMAC-SHA1, 30-second steps, 6 digits,
/// accepted within one step either side of the hub's clock, each step at most once per member.
public enum TOTP {
    public static let period: TimeInterval = 30
    public static let digits = 6
    public static let issuer = "MZPanel Backups"

    /// A new shared secret: 20 random bytes (160 bits, RFC 4226's recommendation), in base32.
    public static func newSecret() -> String {
        var generator = SystemRandomNumberGenerator()
        return Base32.encode(Data((0..<20).map { _ in UInt8.random(in: 0...255, using: &generator) }))
    }

    /// The time step of `date`.
    public static func step(at date: Date) -> Int64 { Int64((max(0, date.timeIntervalSince1970) / period).rounded(.down)) }

    /// The code of `step` for a base32 secret (nil when the secret is not base32).
    public static func code(secret: String, step: Int64) -> String? {
        guard let key = Base32.decode(secret) else { return nil }
        return code(key: key, step: step)
    }

    static func code(key: Data, step: Int64) -> String {
        var counter = UInt64(step).bigEndian
        let message = withUnsafeBytes(of: &counter) { Data($0) }
        let mac = Array(HMAC<Insecure.SHA1>.authenticationCode(for: message, using: SymmetricKey(data: key)))
        let offset = Int(mac[mac.count - 1] & 0x0f)
        let binary =
            (UInt32(mac[offset] & 0x7f) << 24) | (UInt32(mac[offset + 1]) << 16) | (UInt32(mac[offset + 2]) << 8) | UInt32(mac[offset + 3])
        let value = binary % 1_000_000
        let text = String(value)
        return String(repeating: "0", count: digits - text.count) + text
    }

    /// The step whose code `code` is, within one step of `date`, and newer than `lastUsed` (a code works once);
    /// nil when it matches none. Every candidate is compared, in constant time.
    public static func matchingStep(_ code: String, secret: String, at date: Date, after lastUsed: Int64?) -> Int64? {
        let clean = code.filter { !$0.isWhitespace }
        guard clean.count == digits, clean.unicodeScalars.allSatisfy({ $0.value >= 48 && $0.value <= 57 }), let key = Base32.decode(secret)
        else { return nil }
        let now = step(at: date)
        var found: Int64?
        for candidate in [now - 1, now, now + 1] {
            let expected = Self.code(key: key, step: candidate)
            let equal = zip(expected.utf8, clean.utf8).reduce(UInt8(0)) { $0 | ($1.0 ^ $1.1) } == 0
            if equal, candidate > (lastUsed ?? Int64.min), found == nil { found = candidate }
        }
        return found
    }

    /// The `otpauth://` URI an authenticator app reads (as text or from the QR code).
    public static func uri(secret: String, account email: String) -> String {
        let allowed = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "-._~@"))
        let label = "\(issuer):\(email)".addingPercentEncoding(withAllowedCharacters: allowed.union(CharacterSet(charactersIn: ":"))) ?? email
        let issuerText = issuer.addingPercentEncoding(withAllowedCharacters: allowed) ?? "MZPanel"
        return "otpauth://totp/\(label)?secret=\(secret)&issuer=\(issuerText)&algorithm=SHA1&digits=\(digits)&period=\(Int(period))"
    }

    /// Ten one-time recovery codes (`xxxxx-xxxxx`, 50 random bits each); the hub keeps only their SHA-256 hashes.
    public static func recoveryCodes() -> [String] {
        let alphabet = Array("abcdefghijkmnpqrstuvwxyz23456789")
        var generator = SystemRandomNumberGenerator()
        return (0..<10).map { _ in
            let characters = (0..<10).map { _ in alphabet[Int(generator.next() % UInt64(alphabet.count))] }
            return String(characters[0..<5]) + "-" + String(characters[5..<10])
        }
    }

    /// A recovery code as typed (any case, spaces and dashes ignored), normalized for hashing.
    public static func normalizedRecoveryCode(_ text: String) -> String {
        let clean = text.lowercased().filter { $0.isLetter || $0.isNumber }
        guard clean.count == 10 else { return clean }
        return String(clean.prefix(5)) + "-" + String(clean.suffix(5))
    }
}

/// RFC 4648 base32 without padding (what authenticator apps expect in `secret=`).
public enum Base32 {
    static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567".utf8)

    public static func encode(_ data: Data) -> String {
        var output: [UInt8] = []
        var buffer: UInt32 = 0
        var bits = 0
        for byte in data {
            buffer = (buffer << 8) | UInt32(byte)
            bits += 8
            while bits >= 5 {
                output.append(alphabet[Int((buffer >> UInt32(bits - 5)) & 31)])
                bits -= 5
            }
        }
        if bits > 0 { output.append(alphabet[Int((buffer << UInt32(5 - bits)) & 31)]) }
        return String(decoding: output, as: UTF8.self)
    }

    public static func decode(_ text: String) -> Data? {
        var output = Data()
        var buffer: UInt32 = 0
        var bits = 0
        for character in text.uppercased().utf8 where character != UInt8(ascii: "=") && character != UInt8(ascii: " ") {
            guard let value = alphabet.firstIndex(of: character) else { return nil }
            buffer = (buffer << 5) | UInt32(value)
            bits += 5
            if bits >= 8 {
                output.append(UInt8((buffer >> UInt32(bits - 8)) & 0xff))
                bits -= 8
            }
        }
        return output.isEmpty ? nil : output
    }
}
