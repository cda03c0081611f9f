import BackupCore
import Foundation
import LinkProtocol
import Sealing
import TrustedHTTP

/// `mzpanel-agent enroll`: registers this box with the hub using a one-time token.
public struct Enrollment: Sendable {
    public struct Result: Sendable {
        public var identity: AgentIdentity
        public var fingerprint: String
        /// The pinned account key's fingerprint, and whether it was pinned without one to compare.
        public var accountKey: String?
        public var pinnedOnFirstUse = false
        public var jobCount: Int?
        public var warnings: [String]
    }

    public var state: AgentState
    public var settings: AgentSettings
    public var agentBinary: String

    public init(state: AgentState, settings: AgentSettings, agentBinary: String = ProgramLocator.currentExecutable()) {
        self.state = state
        self.settings = settings
        self.agentBinary = agentBinary
    }

    /// Generates (or reuses) the server key, sends its public half with the token, stores the
    /// identity and credential (0600), then fetches the jobs and writes their timers.
    /// - Parameter caFile: a PEM file of the hub's certificate authority; copied into the state and
    ///   trusted alone for every later call. Without it, the system's authorities.
    /// - Parameter expected: the account key fingerprint the hub printed with the command; the key
    ///   the hub answers with is pinned only when it matches (nil: pin what the hub sends, trust on first use).
    public func enroll(url: String, token: String, force: Bool, caFile: String? = nil, accountKey expected: String? = nil) async throws
        -> Result
    {
        let hubURL = try HubLink.normalize(url)
        let trust: HubTrust
        do {
            trust = try caFile.map { try HubTrust.caFile($0) } ?? .system
        } catch {
            throw AgentError("\(error)")
        }
        let token = token.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !token.isEmpty else { throw AgentError("the enrollment token is empty; pass the token `mzpanel servers add` printed") }
        if state.isEnrolled && !force {
            let identity = try? state.loadIdentity()
            throw AgentError(
                "this agent is already enrolled\(identity.map { " as server \($0.serverName) (\($0.serverID)) with \($0.hubURL)" } ?? ""); pass --force to enroll it again (the old credential stops being used)"
            )
        }
        try state.prepare()
        // The key is kept across re-enrollments: credentials sealed to it stay readable.
        let key = try ServerKey.loadOrCreate(at: state.serverKeyFile)
        let request = EnrollRequest(
            token: token, publicKey: key.publicKeyBase64, keyFingerprint: key.fingerprint,
            hostname: Self.hostname(), agentVersion: AgentVersion.current)
        let response: EnrollResponse
        do {
            response = try await HubLink.enroll(url: hubURL, request, trust: trust)
        } catch let error as HubLinkError where error.isUnauthorized {
            throw AgentError(
                "the hub refused the enrollment token (it is unknown, expired or already used); issue a new one (`mzpanel servers add`, or POST /api/v1/servers/SERVER/enrollment-tokens) and run enroll again with it"
            )
        }
        let manifests = ManifestTrust(state: state)
        let offered = response.accountKey.flatMap { Data(base64Encoded: $0) }.flatMap { $0.count == 32 ? $0 : nil }
        if let expected {
            guard let offered, KeyFingerprint.normalized(KeyFingerprint.of(offered)) == KeyFingerprint.normalized(expected) else {
                throw AgentError(
                    "the hub answered with account key \(offered.map(KeyFingerprint.of) ?? "(none)"), not \(expected) as the enrollment command says: this may not be your account's hub. Nothing was stored; check the hub URL and the fingerprint on your account page, then enroll with a new token"
                )
            }
        }
        let identity = AgentIdentity(
            serverID: response.serverID, accountID: response.accountID,
            serverName: response.serverName, hubURL: hubURL)
        try storeTrust(trust)
        try state.saveCredential(response.credential)
        try state.saveIdentity(identity)
        try state.saveSettings(settings)

        var result = Result(identity: identity, fingerprint: key.fingerprint, jobCount: nil, warnings: [])
        if let pinned = manifests.pinnedKey() {
            result.accountKey = KeyFingerprint.of(pinned)
            if let offered, offered != pinned {
                result.warnings.append(
                    "this box keeps the account key it pinned before (\(KeyFingerprint.of(pinned))); the hub offered \(KeyFingerprint.of(offered)). Run `mzpanel-agent trust reset` on this box if the account's key really changed"
                )
            }
        } else if let offered {
            try manifests.pin(offered)
            result.accountKey = KeyFingerprint.of(offered)
            result.pinnedOnFirstUse = expected == nil
        }
        let sync = JobSync(state: state, settings: settings, agentBinary: agentBinary)
        do {
            let link = try HubLink(hubURL: hubURL, credential: response.credential, trust: state.hubTrust)
            let jobs = try await link.jobs()
            result.warnings += try sync.apply(jobs)
            result.jobCount = jobs.jobs.count
        } catch {
            result.warnings.append("enrolled, but the jobs could not be fetched yet (\(error)); `mzpanel-agent daemon` fetches them when it starts")
        }
        return result
    }

    /// Keeps a copy of the CA file in the state (the original may move); no CA file removes an old copy.
    private func storeTrust(_ trust: HubTrust) throws {
        guard let source = trust.caFile else {
            if FileManager.default.fileExists(atPath: state.hubCAFile) { try FileManager.default.removeItem(atPath: state.hubCAFile) }
            return
        }
        guard let pem = FileManager.default.contents(atPath: source) else { throw AgentError("cannot read the CA file \(source)") }
        // A certificate is public; 0644 lets an operator read which CA the agent trusts.
        try SecureFile.write(pem, to: state.hubCAFile, mode: 0o644)
    }

    static func hostname() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count) == 0 else { return ProcessInfo.processInfo.hostName }
        return String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
