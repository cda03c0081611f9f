import Foundation

/// Identifiers of the hub's resources: a kind prefix and 20 random base-32 characters
/// (`srv_…`, `dst_…`, `job_…`), so an id is recognisable in logs and never mistaken for a name.
public enum ResourceKind: String, Sendable, CaseIterable {
    case account = "acc"
    case user = "usr"
    case apiToken = "tok"
    case session = "ses"
    case server = "srv"
    case enrollmentToken = "enr"
    case destination = "dst"
    case job = "job"
    case run = "run"
    case snapshot = "snp"
    case command = "cmd"
    case audit = "aud"
    case channel = "chn"
    case delivery = "dlv"
    /// A download being relayed from an agent to a browser (lives only while it runs).
    case download = "dwn"
    /// An agent's report about a run (outbox events; the hub applies each id once per server).
    case event = "evt"
    /// An invitation to join an account as a member.
    case invitation = "inv"

    /// The resource's name in messages ("server", "destination"…).
    public var noun: String {
        switch self {
        case .account: "account"
        case .user: "user"
        case .apiToken: "API token"
        case .session: "session"
        case .server: "server"
        case .enrollmentToken: "enrollment token"
        case .destination: "destination"
        case .job: "job"
        case .run: "run"
        case .snapshot: "snapshot"
        case .command: "agent command"
        case .audit: "audit entry"
        case .channel: "notification channel"
        case .delivery: "notification delivery"
        case .download: "download"
        case .event: "agent event"
        case .invitation: "invitation"
        }
    }
}

public enum ResourceID {
    static let alphabet = Array("abcdefghijkmnpqrstuvwxyz23456789")

    /// A new random id of the given kind.
    public static func make(_ kind: ResourceKind) -> String {
        var generator = SystemRandomNumberGenerator()
        return make(kind, using: &generator)
    }

    public static func make<G: RandomNumberGenerator>(_ kind: ResourceKind, using generator: inout G) -> String {
        let body = (0..<20).map { _ in alphabet[Int(generator.next() % UInt64(alphabet.count))] }
        return kind.rawValue + "_" + String(body)
    }

    /// The same characters in text order: ids made with it sort by text as their numbers do.
    static let sortedAlphabet = Array("23456789abcdefghijkmnpqrstuvwxyz")

    /// An id that sorts by text in the order ids were made: the time in milliseconds (9
    /// characters, until the year 3084) then `sequence` (11 characters), so entries written within
    /// one millisecond keep their order when the caller counts up.
    public static func sequential(_ kind: ResourceKind, at date: Date, sequence: UInt64) -> String {
        func digits(_ value: UInt64, _ count: Int) -> String {
            var value = value
            var text = [Character](repeating: sortedAlphabet[0], count: count)
            for index in stride(from: count - 1, through: 0, by: -1) {
                text[index] = sortedAlphabet[Int(value % 32)]
                value /= 32
            }
            return String(text)
        }
        return kind.rawValue + "_" + digits(UInt64(max(0, date.millisecondsSince1970)), 9) + digits(sequence, 11)
    }

    /// The id of `kind` that `key` always gives: several hub processes deriving an id for the same
    /// thing (a job's slot) get one id, so a unique key lets only one of them record it.
    /// Not a secret: FNV-1a over the key, twice with different offsets, cut to 100 bits.
    public static func derived(_ kind: ResourceKind, from key: String) -> String {
        func fnv(_ offset: UInt64) -> UInt64 {
            key.utf8.reduce(offset) { ($0 ^ UInt64($1)) &* 0x0000_0100_0000_01B3 }
        }
        var bits = (fnv(0xCBF2_9CE4_8422_2325), fnv(0x8422_2325_CBF2_9CE4))
        var body = ""
        for index in 0..<20 {
            let value: UInt64
            if index < 10 {
                value = bits.0 & 31
                bits.0 >>= 5
            } else {
                value = bits.1 & 31
                bits.1 >>= 5
            }
            body.append(alphabet[Int(value)])
        }
        return kind.rawValue + "_" + body
    }

    /// True when `reference` has the shape of an id of `kind` (used to tell ids from names).
    public static func looksLike(_ reference: String, _ kind: ResourceKind) -> Bool {
        let prefix = kind.rawValue + "_"
        guard reference.hasPrefix(prefix) else { return false }
        let body = reference.dropFirst(prefix.count)
        return body.count == 20 && body.allSatisfy { alphabet.contains($0) }
    }
}
