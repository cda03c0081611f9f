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
