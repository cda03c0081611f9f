/// An account's subscription. Free keeps backups on the server itself; Plus adds offsite copies.
public enum Plan: String, Sendable, Codable, CaseIterable {
    case free
    case plus

    /// The plan's name as shown to people.
    public var title: String { self == .free ? "Free" : "Plus" }

    /// Whether an account on this plan may create a destination of `kind`.
    public func allows(_ kind: DestinationKind) -> Bool {
        switch self {
        case .free: !kind.isOffsite
        case .plus: true
        }
    }

    /// Refuses a destination kind the plan does not include, naming the plan that does.
    public func authorize(_ kind: DestinationKind) throws(DomainError) {
        guard allows(kind) else {
            throw DomainError(
                .planRequired, field: "kind",
                "\(kind.title) destinations are offsite and need the Plus plan; this account is on the \(title) plan, which keeps backups in local destinations. Upgrade to Plus or choose kind \"local\"."
            )
        }
    }
}
