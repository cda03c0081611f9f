import BackupCore
import ControlPlane
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import Store
import Synchronization
import Testing

/// A clock the tests move by hand; starts at 2026-01-01T00:00:00Z.
final class TestClock: HubClock, Sendable {
    static let start = Date(millisecondsSince1970: 1_767_225_600_000)
    private let current: Mutex<Date>

    init(_ start: Date = TestClock.start) { current = Mutex(start) }

    func now() -> Date { current.withLock { $0 } }

    func advance(by seconds: TimeInterval) {
        current.withLock { $0 = Date(millisecondsSince1970: $0.millisecondsSince1970 + Int64(seconds * 1000)) }
    }
}

/// An account created for a test, with its first API token and (when given) its password.
struct TestAccount: Sendable {
    let id: String
    let email: String
    let token: String
    let password: String
}

/// A hub on a fresh SQLite store in a temporary directory.
struct TestHub: Sendable {
    let store: SQLHubStore
    let clock: TestClock
    let services: HubServices

    static let password = "correct horse battery staple"

    static var logger: Logger {
        var logger = Logger(label: "mzpanel.api-tests")
        logger.logLevel = .error
        return logger
    }

    /// Creates an account through `AccountProvisioning`, as `mzpanel admin` does.
    func account(_ email: String, plan: Plan = .free) async throws -> TestAccount {
        let created = try await AccountProvisioning(store: store, clock: clock, bcryptCost: 4).createAccount(
            email: email, plan: plan, password: Self.password)
        return TestAccount(id: created.account.id, email: created.email, token: created.apiToken, password: Self.password)
    }

    /// Gives a server the key its agent would report at enrollment, so envelopes can be sealed to it.
    func giveKey(accountID: String, serverID: String, fingerprint: String) async throws {
        var server = try #require(try await store.server(accountID: accountID, reference: serverID))
        server.publicKey = Data((0..<32).map { _ in UInt8.random(in: 0...255) }).base64EncodedString()
        server.keyFingerprint = fingerprint
        try await store.updateServer(server)
    }

    /// The route table the router was built from.
    func routeTable() throws -> [RouteDoc] { try buildRouter(hub: services).routes }
}

/// Runs `body` against `buildApplication` on a fresh hub through Hummingbird's router test client;
/// `allowPrivateWebhooks` as `mzpanel serve --allow-private-webhooks` (receivers on 127.0.0.1),
/// `configure` changes any other setting.
func withTestHub<T: Sendable>(
    allowPrivateWebhooks: Bool = false, testing: TestingSetup = .router, configure: (inout HubConfiguration) -> Void = { _ in },
    _ body: @Sendable (TestHub, any TestClientProtocol) async throws -> T
) async throws -> T {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("mzpanel-api-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    let store = try await SQLHubStore.open(database: nil, sqlitePath: directory.appendingPathComponent("hub.sqlite").path, logger: TestHub.logger)
    var configuration = HubConfiguration()
    configuration.bcryptCost = 4
    // The scheduler would enqueue commands on its own timer; these tests drive the hub by hand.
    configuration.runScheduler = false
    configuration.allowPrivateWebhooks = allowPrivateWebhooks
    configure(&configuration)
    let clock = TestClock()
    let hub = TestHub(store: store, clock: clock, services: HubServices(store: store, clock: clock, configuration: configuration))
    do {
        let app = try buildApplication(hub: hub.services, logger: TestHub.logger)
        let result = try await app.test(testing) { client in try await body(hub, client) }
        await store.shutdown()
        return result
    } catch {
        await store.shutdown()
        throw error
    }
}

/// One API answer, with its body parsed when it is JSON.
struct APIResponse: Sendable, CustomStringConvertible {
    let status: HTTPResponse.Status
    let headers: HTTPFields
    let text: String
    let json: JSONValue

    var error: JSONValue { json["error"] }
    var errorCode: String? { error["code"].string }
    var errorField: String? { error["field"].string }

    var description: String { "\(status.code) \(text.prefix(600))" }

    /// Each `Set-Cookie` header as name → attributes (lower-cased keys; flags map to "").
    var cookies: [String: (value: String, attributes: [String: String])] {
        var result: [String: (value: String, attributes: [String: String])] = [:]
        for field in headers where field.name == .setCookie {
            let parts = field.value.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
            guard let first = parts.first, let equals = first.firstIndex(of: "=") else { continue }
            var attributes: [String: String] = [:]
            for part in parts.dropFirst() {
                if let eq = part.firstIndex(of: "=") {
                    attributes[part[..<eq].lowercased()] = String(part[part.index(after: eq)...])
                } else {
                    attributes[part.lowercased()] = ""
                }
            }
            result[String(first[..<equals])] = (String(first[first.index(after: equals)...]), attributes)
        }
        return result
    }
}

extension HTTPField.Name {
    static let mzpanelRequest = HTTPField.Name("X-MZPanel-Request")!
}

extension TestClientProtocol {
    /// Sends a request with an optional bearer token and raw JSON body text.
    func call(_ method: HTTPRequest.Method, _ uri: String, token: String? = nil, body: String? = nil, headers: HTTPFields = [:]) async throws
        -> APIResponse
    {
        var headers = headers
        if let token { headers[.authorization] = "Bearer \(token)" }
        if body != nil { headers[.contentType] = "application/json" }
        let response = try await execute(uri: uri, method: method, headers: headers, body: body.map { ByteBuffer(string: $0) })
        let text = String(buffer: response.body)
        let json = (try? JSONValue.parse(Data(text.utf8))) ?? .null
        return APIResponse(status: response.status, headers: response.headers, text: text, json: json)
    }
}

/// Checks an error answer: the status, a JSON `{"error":{"code","message"}}` body, and optionally the code and field.
func expectError(
    _ response: APIResponse, _ status: HTTPResponse.Status, code: String? = nil, field: String? = nil,
    sourceLocation: SourceLocation = #_sourceLocation
) {
    #expect(response.status == status, "\(response)", sourceLocation: sourceLocation)
    #expect(response.status.code < 500, "never a server error: \(response)", sourceLocation: sourceLocation)
    #expect(response.headers[.contentType]?.hasPrefix("application/json") == true, sourceLocation: sourceLocation)
    #expect(response.errorCode?.isEmpty == false, "error.code is required: \(response)", sourceLocation: sourceLocation)
    #expect(response.error["message"].string?.isEmpty == false, "error.message is required: \(response)", sourceLocation: sourceLocation)
    if let code { #expect(response.errorCode == code, "\(response)", sourceLocation: sourceLocation) }
    if let field { #expect(response.errorField == field, "\(response)", sourceLocation: sourceLocation) }
}

func expectStatus(_ response: APIResponse, _ status: HTTPResponse.Status, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(response.status == status, "\(response)", sourceLocation: sourceLocation)
}
