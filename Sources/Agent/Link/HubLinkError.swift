/// A failed call to the hub. Descriptions say what to do and never contain the agent credential.
public enum HubLinkError: Error, Sendable, CustomStringConvertible {
    /// No answer: DNS, connection refused, TLS, timeout.
    case unreachable(url: String, reason: String)
    /// The hub answered with an error (`{"error":{"code","message","field"}}`).
    case rejected(status: Int, code: String?, message: String, field: String?)
    /// The hub answered something the agent cannot read (a proxy page, a newer protocol).
    case unreadable(url: String, status: Int, reason: String)

    /// The hub refuses this agent's credential (removed server, credential replaced).
    public var isUnauthorized: Bool {
        if case .rejected(let status, _, _, _) = self { return status == 401 || status == 403 }
        return false
    }

    /// Worth retrying later (hub down or overloaded), as opposed to a request the hub will never accept.
    public var isTransient: Bool {
        switch self {
        case .unreachable: true
        case .rejected(let status, _, _, _): status == 408 || status == 429 || status >= 500
        case .unreadable(_, let status, _): status == 0 || status >= 500
        }
    }

    public var description: String {
        switch self {
        case .unreachable(let url, let reason):
            "the hub at \(url) cannot be reached (\(reason)); check the URL, the network and that `mzpanel serve` is running — events wait in the outbox meanwhile"
        case .rejected(let status, _, let message, let field):
            if status == 401 || status == 403 {
                "the hub refused this agent (\(message)); if the server was removed or re-enrolled, enroll again with `mzpanel-agent enroll --force --url … --token …`"
            } else {
                "the hub answered \(status): \(message)" + (field.map { " (field \($0))" } ?? "")
            }
        case .unreadable(let url, let status, let reason):
            "the hub at \(url) answered \(status) with something that is not its API (\(reason)); check that the URL points at `mzpanel serve` and that agent and hub versions match"
        }
    }
}
