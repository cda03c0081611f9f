import BackupCore
import Foundation
import HubAPI
import LinkProtocol
import Redaction
import TrustedHTTP

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// The agent's client for the hub's agent API (`/api/agent/v1/…`), over plain HTTPS with
/// Foundation's URLSession: no NIO, no web framework in the agent. Calls carry
/// `Authorization: Agent <credential>`; commands arrive by long polling.
public final class HubLink: Sendable {
    public let baseURL: String
    private let credential: String?
    private let session: URLSession
    private let trust: HubTrust
    private let timeout: TimeInterval
    /// What the agent can do beyond the basics (`AgentCapability`), read at each call so that
    /// `mzpanel-agent hub-backup enable` shows on the hub at the next poll. nil: no header (the hub
    /// keeps what it knows).
    private let capabilities: (@Sendable () -> [String])?

    /// - Parameters:
    ///   - hubURL: e.g. `https://hub.example.com` (a path prefix is kept).
    ///   - credential: the agent credential; nil only for enrollment.
    ///   - trust: the authorities the hub's certificate must chain to (the CA file stored at enrollment, or the system's).
    ///   - timeout: seconds for ordinary calls (long polls add their wait).
    public init(
        hubURL: String, credential: String?, trust: HubTrust = .system, timeout: TimeInterval = 30,
        capabilities: (@Sendable () -> [String])? = nil
    ) throws {
        self.baseURL = try Self.normalize(hubURL)
        self.capabilities = capabilities
        self.credential = credential
        self.trust = trust
        self.timeout = timeout
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = timeout
        configuration.timeoutIntervalForResource = timeout + 60
        configuration.httpAdditionalHeaders = ["User-Agent": "mzpanel-agent/\(AgentVersion.current)"]
        self.session = URLSession(configuration: configuration)
    }

    deinit {
        session.finishTasksAndInvalidate()
    }

    /// Checks and normalizes a hub URL (`http(s)://host[:port][/prefix]`, no trailing slash).
    public static func normalize(_ text: String) throws -> String {
        var value = text.trimmingCharacters(in: .whitespacesAndNewlines)
        while value.hasSuffix("/") { value.removeLast() }
        guard let components = URLComponents(string: value), let scheme = components.scheme?.lowercased(),
            scheme == "https" || scheme == "http", let host = components.host, !host.isEmpty,
            components.query == nil, components.user == nil, components.password == nil
        else {
            throw AgentError("\"\(text)\" is not a hub URL; give it as https://HOST[:PORT], as `mzpanel servers add` prints it")
        }
        return value
    }

    // MARK: Calls

    /// `POST /api/agent/v1/enroll` (no credential yet).
    public static func enroll(url: String, _ request: EnrollRequest, trust: HubTrust = .system, timeout: TimeInterval = 30) async throws
        -> EnrollResponse
    {
        let link = try HubLink(hubURL: url, credential: nil, trust: trust, timeout: timeout)
        return try await link.call("POST", "/api/agent/v1/enroll", body: request, as: EnrollResponse.self)
    }

    /// `GET /api/agent/v1/jobs`: every job of this server.
    public func jobs() async throws -> AgentJobSet {
        try await call("GET", "/api/agent/v1/jobs", body: Optional<EventBatch>.none, as: AgentJobSet.self)
    }

    /// `POST /api/agent/v1/events`: delivers events; the answer lists the ids the hub stored.
    public func send(_ batch: EventBatch) async throws -> EventAck {
        try await call("POST", "/api/agent/v1/events", body: batch, as: EventAck.self)
    }

    /// `GET /api/agent/v1/commands?wait=N`: waits up to N seconds (0–30) for commands.
    public func commands(wait: Int) async throws -> CommandList {
        let seconds = min(max(wait, 0), 30)
        return try await call(
            "GET", "/api/agent/v1/commands?wait=\(seconds)", body: Optional<EventBatch>.none,
            as: CommandList.self, timeout: timeout + TimeInterval(seconds))
    }

    /// `POST /api/agent/v1/commands/{id}/ack`: the agent has taken the command.
    public func ack(commandID: String) async throws {
        let id = commandID.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(CharacterSet(charactersIn: "/"))) ?? commandID
        _ = try await call("POST", "/api/agent/v1/commands/\(id)/ack", body: Optional<EventBatch>.none, as: Ignored.self)
    }

    /// `POST /api/agent/v1/listings/{snapshot}`: one part of a snapshot listing for browsing.
    public func uploadListing(snapshotID: String, _ upload: ListingUpload) async throws {
        _ = try await call("POST", "/api/agent/v1/listings/\(snapshotID)", body: upload, as: Ignored.self, timeout: 120)
    }

    /// `POST /api/agent/v1/downloads/{download}`: the next part of a download a browser waits for
    /// (answers once the hub has passed it on); the last part says `done`, or the `error`.
    public func sendDownloadPart(downloadID: String, sequence: Int, data: Data, done: Bool, error: String? = nil) async throws {
        var path = "/api/agent/v1/downloads/\(downloadID)?seq=\(sequence)" + (done ? "&done=1" : "")
        if let error { path += "&error=" + (error.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "failed") }
        _ = try await call("POST", path, body: Optional<EventBatch>.none, as: Ignored.self, timeout: 300, raw: data)
    }

    /// `PUT /api/agent/v1/peer-stores/{destination}`: the storage server's report on a peer destination.
    public func reportPeer(_ report: PeerReport) async throws {
        _ = try await call("PUT", "/api/agent/v1/peer-stores/\(report.destinationID)", body: report, as: Ignored.self)
    }

    /// `POST /api/agent/v1/destination-slots`: claim, renew or release a run's slot at a capped destination.
    public func destinationSlot(_ request: SlotRequest) async throws -> SlotAnswer {
        try await call("POST", "/api/agent/v1/destination-slots", body: request, as: SlotAnswer.self, timeout: 20)
    }

    /// `PUT /api/agent/v1/stacks`: what this server's agent found on its Docker engine.
    public func reportStacks(_ report: StackReport) async throws {
        _ = try await call("PUT", "/api/agent/v1/stacks", body: report, as: Ignored.self, timeout: 60)
    }

    /// `GET /agent/mzpanel-agent-linux-ARCH`: the hub's agent build (no credential needed).
    public func agentBuild(architecture: String) async throws -> Data {
        guard let url = URL(string: baseURL + "/agent/mzpanel-agent-linux-" + architecture) else { throw AgentError("cannot build the download URL") }
        var request = URLRequest(url: url)
        request.timeoutInterval = 300
        let (data, response): (Data, URLResponse)
        do {
            if trust.caFile != nil {
                (data, response) = try await CurlClient.data(for: request, trust: trust)
            } else {
                (data, response) = try await session.cancellableData(for: request)
            }
        } catch {
            throw HubLinkError.unreachable(url: baseURL, reason: redact(reason(error)))
        }
        let status = (response as? HTTPURLResponse)?.statusCode ?? 0
        guard status == 200 else { throw HubLinkError.unreadable(url: baseURL, status: status, reason: "no agent build for linux-\(architecture)") }
        return data
    }

    // MARK: Transport

    private struct Ignored: Decodable {}

    private struct ErrorEnvelope: Decodable {
        struct Body: Decodable {
            var code: String?
            var message: String?
            var field: String?
        }
        var error: Body
    }

    private func call<Body: Encodable, Answer: Decodable>(
        _ method: String, _ path: String, body: Body?, as: Answer.Type, timeout: TimeInterval? = nil, raw: Data? = nil
    ) async throws -> Answer {
        let address = baseURL + path
        guard let url = URL(string: address) else { throw AgentError("cannot build a URL from \(baseURL); enroll again with a valid --url") }
        var request = URLRequest(url: url)
        request.httpMethod = method
        request.timeoutInterval = timeout ?? self.timeout
        request.setValue("application/json", forHTTPHeaderField: "Accept")
        if let credential { request.setValue("Agent " + credential, forHTTPHeaderField: "Authorization") }
        request.setValue("mzpanel-agent/\(AgentVersion.current)", forHTTPHeaderField: "User-Agent")
        if credential != nil, let capabilities {
            // Sent even when empty, so that `hub-backup disable` shows as well.
            request.setValue(capabilities().joined(separator: ","), forHTTPHeaderField: "X-MZPanel-Agent-Capabilities")
        }
        if let body {
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
            request.httpBody = try HubJSON.encoder().encode(body)
        } else if let raw {
            request.setValue("application/octet-stream", forHTTPHeaderField: "Content-Type")
            request.httpBody = raw
        }
        let data: Data
        let response: URLResponse
        do {
            if trust.caFile != nil {
                (data, response) = try await CurlClient.data(for: request, trust: trust)
            } else {
                (data, response) = try await session.cancellableData(for: request)
            }
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            if Task.isCancelled { throw CancellationError() }
            throw HubLinkError.unreachable(url: baseURL, reason: redact(reason(error)))
        }
        let status = (response as? HTTPURLResponse)?.statusCode ?? 0
        guard (200..<300).contains(status) else {
            if let envelope = try? JSONDecoder().decode(ErrorEnvelope.self, from: data) {
                throw HubLinkError.rejected(
                    status: status, code: envelope.error.code,
                    message: redact(envelope.error.message ?? "no message"), field: envelope.error.field)
            }
            throw HubLinkError.unreadable(url: baseURL, status: status, reason: "HTTP \(status) without an error body")
        }
        if Answer.self == Ignored.self { return Ignored() as! Answer }
        do {
            return try HubJSON.decoder().decode(Answer.self, from: data)
        } catch {
            throw HubLinkError.unreadable(url: baseURL, status: status, reason: redact("\(error)").prefix(300).description)
        }
    }

    private func redact(_ text: String) -> String {
        Redactor(secrets: credential.map { [$0] } ?? []).redact(text)
    }

    private func reason(_ error: any Error) -> String {
        if HubTrust.isCertificateFailure(error) {
            let detail = (error as? TrustedHTTPError)?.message ?? (error as? URLError)?.localizedDescription ?? "\(error)"
            if let caFile = trust.caFile {
                return "TLS failed: the hub's certificate does not verify against the CA file \(caFile) (\(detail))"
            }
            return
                "TLS failed: the hub's certificate is not trusted by the system's certificate authorities (\(detail)); for a private CA enroll with --ca-file FILE"
        }
        if let error = error as? TrustedHTTPError { return error.message }
        if let error = error as? URLError {
            switch error.code {
            case .timedOut: return "timed out"
            case .cannotConnectToHost: return "connection refused"
            case .cannotFindHost, .dnsLookupFailed: return "unknown host"
            case .notConnectedToInternet, .networkConnectionLost: return "network down"
            default: return "URL error \(error.code.rawValue)"
            }
        }
        return String(describing: error).prefix(200).description
    }
}
