import BackupCore
import Foundation
import HTTPTypes
import HubAPI
import HummingbirdTesting
import LinkProtocol
import Testing

@testable import ControlPlane

/// What the hub refuses instead of guessing: unknown keys at any depth, `null` for an optional
/// key, empty query values, and methods a route does not serve.
@Suite("API: strict input (unknown keys, null, empty query values, 405)")
struct APIStrictInputTests {
    @Test func aMistypedKeyIsRefusedNotIgnored() async throws {
        try await withTestHub { hub, client in
            let account = try await hub.account("strict@example.com", plan: .plus)
            let world = try await AccountWorld.build(hub, client, account: account, prefix: "s")
            let before = try await client.call(.get, "/api/v1/runs", token: account.token).json["runs"].array.count
            // `includes` for `include`: today's whole-snapshot restore in place.
            let restore = try await client.call(
                .post, "/api/v1/restores", token: account.token,
                body: #"{"snapshot":"\#(world.snapshotID)","includes":["/srv/app/config.php"],"dryRun":true}"#)
            expectError(restore, .badRequest, code: "invalid", field: "includes")
            let message = restore.error["message"].string ?? ""
            #expect(message.contains("\"includes\"") && message.contains("include,"), "names the key and the allowed ones: \(message)")
            let runs = try await client.call(.get, "/api/v1/runs", token: account.token)
            #expect(runs.json["runs"].array.count == before, "no restore was queued: \(runs)")
        }
    }

    @Test func unknownKeysAreRefusedAtEveryDepthAndOnAgentMessages() async throws {
        try await withTestHub { hub, client in
            let account = try await hub.account("deep@example.com", plan: .plus)
            let world = try await AccountWorld.build(hub, client, account: account, prefix: "d")
            let job = try await client.call(
                .post, "/api/v1/jobs", token: account.token,
                body:
                    #"{"name":"j2","server":"d-web","kind":"full","sources":{"paths":["/srv"],"exclude":["*.tmp"]},"schedule":"daily","destinations":["d-nas"]}"#
            )
            expectError(job, .badRequest, field: "sources.exclude")
            let retention = try await client.call(
                .patch, "/api/v1/jobs/\(world.jobID)", token: account.token, body: #"{"retention":{"keepDaily":7,"keepDayly":3}}"#)
            expectError(retention, .badRequest, field: "retention.keepDayly")
            let restore = try await client.call(
                .post, "/api/v1/restores", token: account.token,
                body: #"{"snapshot":"\#(world.snapshotID)","databases":[{"engine":"postgresql","name":"shop","target":"x"}]}"#)
            expectError(restore, .badRequest, field: "databases[0].target")
            let agent: HTTPFields = [.authorization: "Agent \(try #require(world.agentCredential))"]
            let events = try await client.call(.post, "/api/agent/v1/events", body: #"{"events":[],"extra":1}"#, headers: agent)
            expectError(events, .badRequest, field: "extra")
            let fine = try await client.call(.post, "/api/agent/v1/events", body: #"{"events":[]}"#, headers: agent)
            #expect(fine.status == .ok, "\(fine)")
        }
    }

    @Test func nullForAnOptionalKeyAndEmptyQueryValuesAreRefused() async throws {
        try await withTestHub { hub, client in
            let account = try await hub.account("null@example.com")
            let server = try await client.call(.post, "/api/v1/servers", token: account.token, body: #"{"name":"web1"}"#)
            try #require(server.status == .created)
            let enrollment = try await client.call(
                .post, "/api/v1/servers/web1/enrollment-tokens", token: account.token, body: #"{"expiresInSeconds":null}"#)
            expectError(enrollment, .badRequest, field: "expiresInSeconds")
            let empty = try await client.call(.get, "/api/v1/runs?until=", token: account.token)
            expectError(empty, .badRequest, field: "until")
            let cursor = try await client.call(.get, "/api/v1/servers?cursor=", token: account.token)
            expectError(cursor, .badRequest, field: "cursor")
            #expect(try await client.call(.get, "/api/v1/runs?limit=5", token: account.token).status == .ok)
        }
    }

    @Test func lengthsAreCountedAsTheDocumentCountsThem() async throws {
        try await withTestHub { hub, client in
            let account = try await hub.account("lengths@example.com")
            // 51 characters, 102 code points: JSON Schema's maxLength (100) counts code points.
            let name = String(repeating: "e\u{301}", count: 51)
            let token = try await client.call(.post, "/api/v1/tokens", token: account.token, body: #"{"name":"\#(name)","scope":"read"}"#)
            expectError(token, .badRequest, field: "name")
        }
    }

    @Test func aMethodARouteDoesNotServeAnswers405WithAllow() async throws {
        try await withTestHub { hub, client in
            let account = try await hub.account("trace@example.com")
            let trace = try await client.call(.init("TRACE")!, "/api/v1/servers", token: account.token)
            expectError(trace, .methodNotAllowed, code: "method_not_allowed")
            #expect(trace.headers[.allow] == "GET, POST", "\(trace.headers)")
            let put = try await client.call(.put, "/api/v1/servers/web1", token: account.token, body: "{}")
            #expect(put.status == .methodNotAllowed, "\(put)")
            #expect(put.headers[.allow] == "DELETE, GET, PATCH", "\(put.headers)")
            let unknown = try await client.call(.get, "/api/v1/nothing-here", token: account.token)
            #expect(unknown.status == .notFound, "\(unknown)")
        }
    }

    @Test func theDocumentClosesRequestSchemasAndNamesTheAgentScheme() async throws {
        try await withTestHub { _, client in
            let document = try await OpenAPITests.document(client).json
            let schemas = document["components"]["schemas"]
            #expect(schemas["RestoreRequest"]["additionalProperties"] == .bool(false))
            #expect(schemas["JobSources"]["additionalProperties"] == .bool(false), "reached from JobRequest")
            #expect(schemas["EventBatch"]["additionalProperties"] == .bool(false))
            #expect(document["components"]["securitySchemes"]["agent"]["in"].string == "header")
            #expect(document["paths"]["/api/agent/v1/jobs"]["get"]["security"][0]["agent"] == .array([]))
            #expect(document["paths"]["/metrics"]["get"]["responses"]["200"]["content"]["text/plain"].isNull == false)
            let cursor = document["paths"]["/api/v1/servers"]["get"]["parameters"].array.first { $0["name"].string == "cursor" }
            #expect(cursor?["schema"]["pattern"].string?.hasPrefix("^mzc1") == true)
        }
    }
}

/// The strict decoder on its own: every object a type reads is checked, however the type decodes.
@Suite("HubJSON: strict decoding")
struct StrictDecodingTests {
    struct Inner: Codable, Equatable {
        var a: Int
        var b: String?
    }
    struct Outer: Codable, Equatable {
        var inner: Inner
        var list: [Inner]
        var map: [String: Inner]
        var when: Date?
    }

    @Test func unknownKeysAreFoundInObjectsArraysAndDictionaries() throws {
        let good = #"{"inner":{"a":1},"list":[{"a":2,"b":"x"}],"map":{"k":{"a":3}},"when":"2026-01-31T02:30:00Z"}"#
        let value = try HubJSON.decodeStrictly(Outer.self, from: Data(good.utf8))
        #expect(value.list == [Inner(a: 2, b: "x")] && value.map["k"] == Inner(a: 3, b: nil) && value.when != nil)
        let cases: [(String, String)] = [
            (#"{"inner":{"a":1},"list":[],"map":{},"extra":true}"#, "extra"),
            (#"{"inner":{"a":1,"c":2},"list":[],"map":{}}"#, "inner.c"),
            (#"{"inner":{"a":1},"list":[{"a":1},{"a":2,"bb":"y"}],"map":{}}"#, "list[1].bb"),
            (#"{"inner":{"a":1},"list":[],"map":{"k":{"a":3,"z":0}}}"#, "map.k.z"),
        ]
        for (text, path) in cases {
            #expect(throws: UnknownKeyError.self, "\(text)") { try HubJSON.decodeStrictly(Outer.self, from: Data(text.utf8)) }
            do {
                _ = try HubJSON.decodeStrictly(Outer.self, from: Data(text.utf8))
            } catch let error as UnknownKeyError {
                #expect(error.path == path)
                #expect(!error.allowed.isEmpty)
            }
        }
    }

    @Test func nullForAnOptionalKeyIsRefusedAndTheTypesOwnDecodersStillRun() throws {
        #expect(throws: DecodingError.self) { try HubJSON.decodeStrictly(Inner.self, from: Data(#"{"a":1,"b":null}"#.utf8)) }
        #expect(throws: DecodingError.self) { try HubJSON.decodeStrictly(Inner.self, from: Data(#"{"b":"x"}"#.utf8)) }
        // A type's own decoder (a schedule parses its calendar) and the shared types of the agent link.
        let text = #"{"calendar":"daily 02:30","timeZone":"Europe/Berlin"}"#
        #expect(
            try HubJSON.decodeStrictly(Schedule.self, from: Data(text.utf8)) == (try HubJSON.decoder().decode(Schedule.self, from: Data(text.utf8))))
        #expect(throws: UnknownKeyError.self) { try HubJSON.decodeStrictly(Schedule.self, from: Data(#"{"calendar":"daily","tz":"UTC"}"#.utf8)) }
        let batch = EventBatch(events: [])
        #expect(try HubJSON.decodeStrictly(EventBatch.self, from: try HubJSON.encoder().encode(batch)).events.isEmpty)
    }
}
