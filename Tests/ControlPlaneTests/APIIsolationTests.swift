import BackupCore
import ControlPlane
import Foundation
import HTTPTypes
import HummingbirdTesting
import LinkProtocol
import Testing

/// Account B must not see, change or even detect account A's resources: every route that takes a
/// resource answers 404 for A's ids and names, B's listings hold nothing of A, and A's resources
/// are unchanged afterwards. The matrix is driven by the route table, so a new route is covered
/// (or the test fails until the matrix learns how to fill its parameters).
@Suite("API: account isolation")
struct APIIsolationTests {
    /// Which resource a path parameter names, from the collection segment before it.
    enum Slot: String, CaseIterable {
        case apiToken = "tokens"
        case server = "servers"
        case enrollmentToken = "enrollment-tokens"
        case destination = "destinations"
        case envelopeServer = "envelopes"
        case job = "jobs"
        case run = "runs"
        case snapshot = "snapshots"
        case agentCommand = "commands"
        case peerStore = "peer-stores"
        case channel = "channels"
        case listing = "listings"
        case download = "downloads"
        case member = "members"
        case invitation = "invitations"
        case session = "sessions"

        func value(in world: AccountWorld, byName: Bool) -> String? {
            switch self {
            case .agentCommand: world.commandID
            case .apiToken: world.apiTokenID
            case .server, .envelopeServer: byName ? world.serverName : world.serverID
            case .enrollmentToken: world.enrollmentTokenID
            case .destination, .peerStore: byName ? world.destinationName : world.destinationID
            case .channel: byName ? world.channelName : world.channelID
            case .job: byName ? world.jobName : world.jobID
            case .run: world.runID
            case .snapshot, .listing: world.snapshotID
            // Downloads live only while a browser waits (DownloadRelayTests checks their owner).
            case .download: ResourceID.make(.download)
            case .member: byName ? world.account.email : world.memberID
            case .invitation: world.invitationID
            case .session: world.sessionID
            }
        }
    }

    /// A valid body per request schema, so a 404 can only come from the reference.
    static let bodies: [String: String] = [
        "ServerUpdate": #"{"name":"hijacked-server"}"#,
        "Binary": "hijacked download part",
        "EnrollmentRequest": #"{"expiresInSeconds":600}"#,
        "CertificateRequest": #"{"certificate":"AAAA","keyFingerprint":"0000"}"#,
        "DestinationUpdate": #"{"name":"hijacked-destination","settings":{"path":"/tmp/hijacked"}}"#,
        "EnvelopeRequest": #"{"keyID":"key-hijack","version":1,"ciphertext":"aGlqYWNrZWQ="}"#,
        "PeerReport": #"{"destinationID":"x","listening":true,"usedBytes":{}}"#,
        "VaultRequest": #"{"vault":{}}"#,
        "ChannelRequest": #"{"name":"hijack","url":"https://example.com/hook"}"#,
        "ChannelUpdate": #"{"name":"renamed"}"#,
        "MemberUpdate": #"{"role":"viewer"}"#,
        "MemberWrappingRequest": #"{"keyID":"hijack","wrapping":"1.hijack.a.b"}"#,
        "ListingUpload": #"{"destinationID":"dst_x","entries":[],"done":true}"#,
        "DrillRequest": #"{"sample":"5"}"#,
        "CopyRequest": #"{"from":"bravo-nas","to":"bravo-nas"}"#,
        "JobUpdate": #"{"name":"hijacked-job","enabled":false,"destinations":["bravo-nas"]}"#,
        "RetentionPreviewRequest": #"{"retention":{"keepLast":1}}"#,
        "ManifestRequest":
            #"{"manifest":{"body":"e30=","signature":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=="}}"#,
    ]

    struct Parameter {
        let index: Int
        let slot: Slot
    }

    /// The parameters of a route path and the resource each names; nil (with an issue) when unknown.
    static func parameters(of route: RouteDoc) -> [Parameter]? {
        let segments = route.path.split(separator: "/").map(String.init)
        var result: [Parameter] = []
        for (index, segment) in segments.enumerated() where segment.hasPrefix("{") {
            guard index > 0, let slot = Slot(rawValue: segments[index - 1]) else {
                Issue.record(
                    "\(route.method) \(route.path): the isolation matrix cannot fill \(segment); teach APIIsolationTests.Slot which resource it names"
                )
                return nil
            }
            result.append(Parameter(index: index, slot: slot))
        }
        return result
    }

    @Test func everyRouteAnswers404ForAnotherAccountsResources() async throws {
        try await withTestHub { hub, client in
            let a = try await AccountWorld.build(hub, client, account: try await hub.account("alpha@example.com", plan: .plus), prefix: "alpha")
            let b = try await AccountWorld.build(hub, client, account: try await hub.account("bravo@example.com", plan: .plus), prefix: "bravo")
            let before = try await a.state(client)
            let bBefore = try await b.state(client)

            var attempts: [String] = []
            var routesCovered = Set<String>()
            // Routes without credentials (the agent downloads) belong to no account.
            for route in try hub.routeTable() where route.authenticated {
                guard let parameters = Self.parameters(of: route), !parameters.isEmpty else { continue }
                if let schema = route.requestSchema, Self.bodies[schema] == nil {
                    Issue.record("\(route.method) \(route.path): the isolation matrix has no valid \(schema) body")
                    continue
                }
                let body = route.requestSchema.flatMap { Self.bodies[$0] }
                let segments = route.path.split(separator: "/").map(String.init)
                var uris = Set<String>()
                // Every non-empty choice of parameters taken from A (the rest from B's own
                // resources), each by id and by name.
                for mask in 1..<(1 << parameters.count) {
                    for byName in [false, true] {
                        var filled = segments
                        for (position, parameter) in parameters.enumerated() {
                            let owner = mask & (1 << position) != 0 ? a : b
                            guard let value = parameter.slot.value(in: owner, byName: byName) else {
                                Issue.record("\(route.method) \(route.path): the isolation matrix has no \(parameter.slot) of \(owner.account.email)")
                                continue
                            }
                            filled[parameter.index] = value
                        }
                        uris.insert("/" + filled.joined(separator: "/"))
                    }
                }
                // Agent routes are called with B's agent credential, the others with B's API token.
                var headers: HTTPFields = [:]
                var token: String? = b.account.token
                if route.path.hasPrefix("/api/agent/") {
                    guard let credential = b.agentCredential else {
                        Issue.record("\(route.method) \(route.path): the isolation matrix has no agent credential for B")
                        continue
                    }
                    headers[.authorization] = "Agent \(credential)"
                    token = nil
                }
                for uri in uris.sorted() {
                    let response = try await client.call(route.method, uri, token: token, body: body, headers: headers)
                    #expect(response.status == .notFound, "B: \(route.method) \(uri) → \(response)")
                    #expect(response.errorCode == "not_found", "B: \(route.method) \(uri) → \(response)")
                    for identifier in a.identifiers where !uri.contains(identifier) {
                        #expect(!response.text.contains(identifier), "B: \(route.method) \(uri) leaks \(identifier)")
                    }
                    attempts.append("\(route.method) \(uri)")
                }
                routesCovered.insert("\(route.method) \(route.path)")
            }
            // 19 routes took a resource when this was written; a shrinking matrix means routes were lost, not that isolation holds.
            #expect(routesCovered.count >= 19, "\(routesCovered.sorted())")
            #expect(attempts.count >= 50)

            #expect(try await a.state(client) == before, "A's resources are unchanged after B's attempts")
            #expect(try await b.state(client) == bBefore, "B's own resources were not touched by the mixed attempts")
            expectStatus(try await client.call(.get, "/api/v1/account", token: a.apiTokenSecret), .ok)
        }
    }

    @Test func listingsHoldNothingOfAnotherAccount() async throws {
        try await withTestHub { hub, client in
            let a = try await AccountWorld.build(hub, client, account: try await hub.account("alpha@example.com", plan: .plus), prefix: "alpha")
            let b = try await AccountWorld.build(hub, client, account: try await hub.account("bravo@example.com", plan: .plus), prefix: "bravo")
            let listings = [
                "/api/v1/servers", "/api/v1/destinations", "/api/v1/jobs", "/api/v1/runs", "/api/v1/snapshots", "/api/v1/tokens", "/api/v1/fleet",
                "/api/v1/account", "/api/v1/servers/\(b.serverID)/enrollment-tokens", "/api/v1/destinations/\(b.destinationID)/envelopes",
                "/api/v1/destinations/\(b.destinationID)", "/api/v1/runs?status=succeeded", "/api/v1/snapshots?destination=\(b.destinationName)",
            ]
            for path in listings {
                let response = try await client.call(.get, path, token: b.account.token)
                #expect(response.status == .ok, "\(path): \(response)")
                for identifier in a.identifiers {
                    #expect(!response.text.contains(identifier), "B: GET \(path) shows A's \(identifier)")
                }
            }
            if let credential = b.agentCredential {
                let agentJobs = try await client.call(.get, "/api/agent/v1/jobs", headers: [.authorization: "Agent \(credential)"])
                #expect(agentJobs.status == .ok, "\(agentJobs)")
                for identifier in a.identifiers {
                    #expect(!agentJobs.text.contains(identifier), "B's agent: GET /api/agent/v1/jobs shows A's \(identifier)")
                }
                let commands = try await client.call(.get, "/api/agent/v1/commands?wait=0", headers: [.authorization: "Agent \(credential)"])
                #expect(commands.status == .ok, "\(commands)")
                #expect(!commands.text.contains(a.jobID))
            }
            let servers = try await client.call(.get, "/api/v1/servers", token: b.account.token)
            #expect(servers.json["servers"].ids == [b.serverID])
            let runs = try await client.call(.get, "/api/v1/runs", token: b.account.token).json["runs"].array
            #expect(runs.map { $0["id"].string }.contains(b.runID))
            #expect(runs.allSatisfy { $0["accountID"].string == b.account.id })
            #expect(try await client.call(.get, "/api/v1/snapshots", token: b.account.token).json["snapshots"].ids == [b.snapshotID])
            let fleet = try await client.call(.get, "/api/v1/fleet", token: b.account.token)
            #expect(fleet.json["servers"].int == 1)
            #expect(fleet.json["jobs"].int == 1)
            #expect(fleet.json["snapshots"].int == 1)
        }
    }

    /// A's ids and names in B's queries and bodies are unknown references: refused, never used.
    @Test func anotherAccountsResourcesCannotBeReferenced() async throws {
        try await withTestHub { hub, client in
            let a = try await AccountWorld.build(hub, client, account: try await hub.account("alpha@example.com", plan: .plus), prefix: "alpha")
            let b = try await AccountWorld.build(hub, client, account: try await hub.account("bravo@example.com", plan: .plus), prefix: "bravo")
            let before = try await a.state(client)
            let token = b.account.token
            for byName in [false, true] {
                let server = byName ? a.serverName : a.serverID
                let destination = byName ? a.destinationName : a.destinationID
                let job = byName ? a.jobName : a.jobID
                for query in ["server=\(server)", "job=\(job)", "destination=\(destination)"] {
                    for listing in ["/api/v1/runs", "/api/v1/snapshots"] {
                        let response = try await client.call(.get, "\(listing)?\(query)", token: token)
                        expectError(response, .badRequest, code: "invalid")
                        #expect(!response.text.contains(a.runID) && !response.text.contains(a.snapshotID))
                    }
                }
                expectError(try await client.call(.get, "/api/v1/jobs?server=\(server)", token: token), .badRequest, field: "server")
                expectError(try await client.call(.get, "/api/v1/jobs?destination=\(destination)", token: token), .badRequest)
                expectError(try await client.call(.get, "/api/v1/jobs/\(b.jobName)?server=\(server)", token: token), .badRequest, field: "server")
                expectError(
                    try await client.call(
                        .post, "/api/v1/jobs", token: token,
                        body: """
                            {"name":"steal","server":"\(server)","kind":"full","sources":{"paths":["/srv"]},"schedule":"daily","destinations":["\(b.destinationName)"]}
                            """), .badRequest, field: "server")
                expectError(
                    try await client.call(
                        .post, "/api/v1/jobs", token: token,
                        body: """
                            {"name":"steal","server":"\(b.serverName)","kind":"full","sources":{"paths":["/srv"]},"schedule":"daily","destinations":["\(destination)"]}
                            """), .badRequest, field: "destinations[0]")
                expectError(
                    try await client.call(.patch, "/api/v1/jobs/\(b.jobID)", token: token, body: #"{"destinations":["\#(destination)"]}"#),
                    .badRequest, field: "destinations[0]")
                expectError(
                    try await client.call(
                        .post, "/api/v1/destinations", token: token,
                        body: #"{"name":"steal","kind":"peer","settings":{"peerServerID":"\#(server)","peerAddress":"steal.example.net:8443"}}"#),
                    .badRequest, field: "settings.peerServerID")
            }
            #expect(try await client.call(.get, "/api/v1/jobs", token: token).json["jobs"].ids == [b.jobID])
            #expect(try await a.state(client) == before)
        }
    }
}
