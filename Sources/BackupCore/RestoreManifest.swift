import Foundation

/// What a person decided about one restore that replaces data or lands on another server
/// (docs/sealing.md, "Signed restore orders"): the run it is for, the server that carries it out
/// and the whole plan (so every field a plan gains is signed without a change here).
public struct RestoreManifest: Sendable, Codable, Equatable, SubjectManifest {
    public static let type = "restore"
    public var type: String
    public var version: Int64
    public var accountID: String
    public var runID: String
    public var serverID: String
    public var jobID: String
    public var plan: RestorePlan

    public init(run: Run, plan: RestorePlan, version: Int64) {
        type = Self.type
        self.version = version
        accountID = run.accountID
        runID = run.id
        serverID = run.serverID
        jobID = run.jobID
        self.plan = plan
    }

    /// The fields where `run` differs from what was signed (empty: the run is as signed).
    public func differences(from run: Run) -> [String] {
        var fields: [String] = []
        if type != Self.type { fields.append("type") }
        if accountID != run.accountID { fields.append("account") }
        if runID != run.id { fields.append("run id") }
        if serverID != run.serverID { fields.append("server") }
        if jobID != run.jobID { fields.append("job") }
        if plan != run.restore { fields.append("plan") }
        return fields
    }
}

extension RestorePlan {
    /// Whether carrying this plan out on `serverID` needs the account's signature when the account
    /// has a signing key: it replaces data, or it puts one server's data on another. A dry run
    /// writes nothing; a restore of new files onto the same server replaces nothing.
    /// Whether the restore may write over existing data: with overwrite, a whole stack, files to their
    /// original paths (no target) or a database into its own name. A dry run writes nothing. Members who
    /// may only restore to a new location (operators) are refused these.
    public var writesInPlace: Bool {
        guard !dryRun else { return false }
        return overwrite || stack != nil || (files && target == nil) || databases.contains { $0.into == nil || $0.into == $0.name }
    }

    public func needsSignature(onto serverID: String) -> Bool {
        !dryRun && (overwrite || serverID != sourceServerID)
    }

    /// The plan in words, for the person asked to sign it (`onto` names the server that restores).
    public func summary(onto serverName: String) -> String {
        var what: [String] = []
        if files { what.append(includes.isEmpty ? "all files" : "files below " + includes.joined(separator: ", ")) }
        what += databases.map { "\($0.engine.rawValue) \($0.name)" + ($0.into.map { " into \($0)" } ?? "") }
        return "restore of snapshot \(snapshotID) (server \(sourceServerID), copy at \(destinationID)): " + what.joined(separator: " and ")
            + " onto server \(serverName)" + (target.map { " below \($0)" } ?? " in place") + (overwrite ? ", replacing what differs" : "")
    }
}

/// A restore run's signature: required (the hub holds the order until a client signs it), then
/// the manifest that the agent verifies before it restores.
public struct RunSignature: Sendable, Codable, Equatable {
    public enum State: String, Sendable, Codable, CaseIterable { case awaiting, signed }
    public var state: State
    public var manifest: SignedManifest?

    public init(state: State, manifest: SignedManifest? = nil) {
        self.state = state
        self.manifest = manifest
    }

    public static let awaiting = RunSignature(state: .awaiting)
}
