import BackupCore
import Foundation
import LinkProtocol
import Sealing

/// The account key this box pinned and what it accepts with it (docs/security.md, "A hub that
/// cannot betray its user"). Files in the state directory:
///
/// ```
/// account-key              0600  the account's Ed25519 public key (base64), pinned at enrollment
/// manifest-versions.json   0600  the newest manifest version accepted per job and destination,
///                                and each signed restore run carried out (so it runs once)
/// ```
///
/// Without a pinned key the box runs what the hub sends (trust mode off). With one, a job runs,
/// restores or prunes only when its manifest and each destination's verify under the pinned key,
/// bind to this account and server, match what the hub sent, and are not older than a version
/// this box already accepted.
public struct ManifestTrust: Sendable {
    public let state: AgentState

    public init(state: AgentState) { self.state = state }

    var keyFile: String { state.directory + "/account-key" }
    var versionsFile: String { state.directory + "/manifest-versions.json" }
    /// After `trust reset --account-key FP`: the fingerprint the next pin must have.
    var expectedFile: String { state.directory + "/account-key.expected" }

    /// The pinned account key (32 bytes), or nil when none is pinned.
    public func pinnedKey() -> Data? {
        guard let data = try? SecureFile.read(keyFile),
            let key = Data(base64Encoded: String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)),
            key.count == 32
        else { return nil }
        return key
    }

    public func pin(_ key: Data) throws {
        guard key.count == 32 else { throw AgentError("the account key must be 32 bytes (an Ed25519 public key)") }
        try SecureFile.write(Data((key.base64EncodedString() + "\n").utf8), to: keyFile, mode: 0o600)
    }

    /// Forgets the pinned key and the versions seen (`mzpanel-agent trust reset`); with
    /// `expecting`, the next pin takes only a key of that fingerprint.
    public func reset(expecting fingerprint: String? = nil) throws {
        for file in [keyFile, versionsFile, expectedFile] where FileManager.default.fileExists(atPath: file) {
            try FileManager.default.removeItem(atPath: file)
        }
        if let fingerprint { try SecureFile.write(Data((fingerprint + "\n").utf8), to: expectedFile, mode: 0o600) }
    }

    /// Pins `offered` (base64) when nothing is pinned yet and it is a key (and has the fingerprint
    /// `trust reset --account-key` asked for): trust on first use for boxes enrolled before the
    /// account had a key. Returns the new pin's fingerprint.
    func pinFirst(_ offered: String?) throws -> String? {
        guard pinnedKey() == nil, let offered, let key = Data(base64Encoded: offered), key.count == 32 else { return nil }
        if let data = try SecureFile.read(expectedFile) {
            let expected = String(decoding: data, as: UTF8.self)
            guard KeyFingerprint.normalized(expected) == KeyFingerprint.normalized(KeyFingerprint.of(key)) else { return nil }
            SecureFile.remove(expectedFile)
        }
        try pin(key)
        return KeyFingerprint.of(key)
    }

    // MARK: Checks

    /// Why `agentJob` must not run on this box, or nil when it may (always nil with no pinned key).
    /// Accepted versions are remembered, so an older manifest is refused later.
    public func refusal(for agentJob: AgentJob, identity: AgentIdentity) -> String? {
        guard let key = pinnedKey() else { return nil }
        var versions = loadVersions()
        defer { try? saveVersions(versions) }
        let job = agentJob.job
        let signJob = "if the change is yours, sign it again (`mzpanel jobs sign \(job.name)` or Sign on the job's page)"
        switch check(job.manifest, as: JobManifest.self, key: key, what: "job \(job.name)", sign: signJob, versions: &versions, slot: "job:\(job.id)")
        {
        case .failure(let refused): return refused.reason
        case .success(let signed):
            guard signed.accountID == identity.accountID, signed.serverID == identity.serverID else {
                return "job \(job.name)'s manifest was signed for another server or account — someone moved it outside your browser/CLI"
            }
            let changed = signed.differences(from: job)
            if !changed.isEmpty {
                return
                    "job \(job.name) differs from what your account signed (\(changed.joined(separator: ", "))) — someone changed it outside your browser/CLI; \(signJob)"
            }
        }
        for destination in agentJob.destinations where job.destinationIDs.contains(destination.id) {
            if let reason = refusal(for: destination, identity: identity, key: key, versions: &versions) { return reason }
        }
        return nil
    }

    /// Why a restore, listing or download from `destination` must not happen, or nil.
    public func refusal(for destination: Destination, identity: AgentIdentity) -> String? {
        guard let key = pinnedKey() else { return nil }
        var versions = loadVersions()
        defer { try? saveVersions(versions) }
        return refusal(for: destination, identity: identity, key: key, versions: &versions)
    }

    /// Why this box must not carry out a restore order, or nil. With a pinned key, a restore that
    /// replaces data or brings another server's data here runs only with the account's signature
    /// over exactly this run, and only once (the hub cannot send a signed order again).
    public func refusal(forRestore run: Run, identity: AgentIdentity) -> String? {
        guard let key = pinnedKey(), let plan = run.restore, plan.needsSignature(onto: identity.serverID) else { return nil }
        var versions = loadVersions()
        defer { try? saveVersions(versions) }
        let slot = "restore:\(run.id)"
        let sign = "sign it with `mzpanel runs sign \(run.id)` or on the run's page"
        if versions[slot] != nil {
            return
                "restore run \(run.id) was already carried out on this server — the hub sent its signed order again (a replay); start a new restore"
        }
        switch check(
            run.signature?.manifest, as: RestoreManifest.self, key: key, what: "restore run \(run.id)", sign: sign, versions: &versions, slot: slot)
        {
        case .failure(let refused): return refused.reason
        case .success(let signed):
            guard signed.accountID == identity.accountID, signed.serverID == identity.serverID else {
                versions[slot] = nil
                return "restore run \(run.id)'s order was signed for another server or account — someone moved it outside your browser/CLI"
            }
            let changed = signed.differences(from: run)
            if !changed.isEmpty {
                versions[slot] = nil
                return
                    "restore run \(run.id) differs from what your account signed (\(changed.joined(separator: ", "))) — someone changed it outside your browser/CLI; start the restore again"
            }
            return nil
        }
    }

    private func refusal(for destination: Destination, identity: AgentIdentity, key: Data, versions: inout [String: Int64]) -> String? {
        let sign = "if the change is yours, sign it again (`mzpanel destinations sign \(destination.name)` or Sign on the destination's page)"
        switch check(
            destination.manifest, as: DestinationManifest.self, key: key, what: "destination \(destination.name)", sign: sign,
            versions: &versions, slot: "destination:\(destination.id)")
        {
        case .failure(let refused): return refused.reason
        case .success(let signed):
            guard signed.accountID == identity.accountID else {
                return "destination \(destination.name)'s manifest was signed for another account — someone replaced it outside your browser/CLI"
            }
            let changed = signed.differences(from: destination)
            if !changed.isEmpty {
                return
                    "destination \(destination.name) differs from what your account signed (\(changed.joined(separator: ", "))) — someone changed it outside your browser/CLI; \(sign)"
            }
            return nil
        }
    }

    private func check<Document: VersionedManifest>(
        _ manifest: SignedManifest?, as type: Document.Type, key: Data, what: String, sign: String, versions: inout [String: Int64], slot: String
    ) -> Result<Document, Refused> {
        guard let manifest else {
            return .failure(
                Refused(
                    "\(what) is not signed by your account key (fingerprint \(KeyFingerprint.of(key))), which this server requires; \(sign.replacingOccurrences(of: "if the change is yours, sign it again", with: "sign it"))"
                ))
        }
        switch ManifestSignature.open(manifest, as: type, accountKey: key) {
        case .failure(.badSignature):
            return .failure(
                Refused(
                    "\(what)'s manifest is not signed by your account key (fingerprint \(KeyFingerprint.of(key))) — someone changed it outside your browser/CLI"
                ))
        case .failure(.unreadable):
            return .failure(Refused("\(what)'s manifest is signed but unreadable by this agent; upgrade the agent"))
        case .success(let document):
            let seen = versions[slot] ?? 0
            guard document.version >= seen else {
                return .failure(
                    Refused(
                        "\(what)'s manifest (version \(document.version)) is older than version \(seen) this server already accepted — the hub sent back an old manifest (a replay); \(sign)"
                    ))
            }
            versions[slot] = document.version
            return .success(document)
        }
    }

    // MARK: Versions

    func loadVersions() -> [String: Int64] {
        guard let data = try? SecureFile.read(versionsFile) else { return [:] }
        return (try? JSONDecoder().decode([String: Int64].self, from: data)) ?? [:]
    }

    func saveVersions(_ versions: [String: Int64]) throws {
        guard versions != loadVersions() else { return }
        try SecureFile.write(try AgentState.encode(versions), to: versionsFile, mode: 0o600)
    }
}

/// Why a manifest was refused, in words for the run log and the hub.
struct Refused: Error {
    let reason: String
    init(_ reason: String) { self.reason = reason }
}
