import BackupCore
import Foundation
import HubAPI
import Hummingbird

/// Who is calling: the account every lookup is confined to, and how they proved it.
public struct Caller: Sendable {
    public enum Method: Sendable { case apiToken(id: String), session(id: String) }
    public let accountID: String
    public let method: Method
    /// Who, in words, for the audit log: `API token "deploy" (tok_…)` or the user's email.
    public var label: String = ""
    /// The user behind a session (its email is looked up only when an audit entry is written).
    public var userID: String?
    /// What the caller may do: an API token's scope; a browser session is the account's person (admin).
    public var scope: TokenScope = .admin
    /// The member's role (a token acts with its member's role, within its scope).
    public var role: MemberRole = .owner

    /// What use cases check (`Access.require`).
    public var access: Access { Access(accountID: accountID, memberID: userID, role: role) }
}

/// The hub's request context: the core context plus the authenticated caller.
public struct HubRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    public var caller: Caller?
    /// The client's IP address: the socket's peer, or behind a trusted reverse proxy the address
    /// it forwarded (`ClientAddressMiddleware`, `--trusted-proxy`).
    public var clientAddress: String?
    /// The address of the socket's peer (a reverse proxy's, behind one).
    public let peerAddress: String?

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.caller = nil
        self.peerAddress = source.channel.remoteAddress?.ipAddress
        self.clientAddress = peerAddress
    }

    public var maxUploadSize: Int { BodyLimit.json }
    public var requestDecoder: JSONDecoder { HubJSON.decoder() }
    public var responseEncoder: JSONEncoder { HubJSON.encoder() }

    /// The caller's account id; throws 401 when the request is not authenticated.
    public func accountID() throws -> String {
        guard let caller else { throw APIError.unauthorized }
        return caller.accountID
    }
}
