import ControlPlane
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

@Suite("API: OpenAPI document")
struct OpenAPITests {
    static let isCI = ProcessInfo.processInfo.environment["CI"] == "true"

    /// Whether `python3 -m openapi_spec_validator` can run here.
    static let validatorAvailable: Bool = {
        guard let (status, _) = try? run(["python3", "-c", "import openapi_spec_validator"]) else { return false }
        return status == 0
    }()

    static func run(_ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: output, as: UTF8.self))
    }

    static func document(_ client: any TestClientProtocol) async throws -> APIResponse {
        let response = try await client.call(.get, "/api/openapi.json")
        try #require(response.status == .ok, "\(response)")
        return response
    }

    @Test func everyRouteIsDocumentedWithItsMethod() async throws {
        try await withTestHub { hub, client in
            let document = try await Self.document(client)
            #expect(document.json["openapi"].string?.hasPrefix("3.") == true)
            #expect(document.json["info"]["version"].string == hubVersion)
            let paths = try #require(document.json["paths"].object)

            // The web hub's pages (/backups…) are HTML for people, not part of the JSON API.
            let routes = try buildRouter(hub: hub.services).router.routes.filter {
                !$0.path.description.hasPrefix("/backups") && $0.path.description != "/"
            }
            #expect(routes.count >= 25)
            for route in routes {
                let path = route.path.description
                #expect(paths[path]?[route.method.rawValue.lowercased()].object != nil, "\(route.method) \(path) is missing from the document")
            }
            // And nothing is documented that the router does not serve.
            let served = Set(routes.map { "\($0.method.rawValue.lowercased()) \($0.path.description)" })
            for (path, operations) in paths {
                for method in (operations.object ?? [:]).keys {
                    #expect(served.contains("\(method) \(path)"), "\(method) \(path) is documented but not routed")
                }
            }
        }
    }

    @Test func everyOperationNamesItsParametersAndErrors() async throws {
        try await withTestHub { hub, client in
            let document = try await Self.document(client)
            let schemas = try #require(document.json["components"]["schemas"].object)
            for route in try hub.routeTable() {
                let operation = document.json["paths"][route.path][route.method.rawValue.lowercased()]
                let declared = Set(operation["parameters"].array.filter { $0["in"].string == "path" }.compactMap { $0["name"].string })
                let inPath = Set(route.path.split(separator: "/").filter { $0.hasPrefix("{") }.map { String($0.dropFirst().dropLast()) })
                #expect(declared == inPath, "\(route.method) \(route.path)")
                #expect(!operation["responses"][String(route.successStatus)].isNull, "\(route.method) \(route.path)")
                if route.authenticated {
                    #expect(!operation["responses"]["401"].isNull, "\(route.method) \(route.path)")
                }
                for name in [route.requestSchema, route.responseSchema].compactMap({ $0 }) where name != "Binary" && name != "Text" {
                    #expect(schemas[name] != nil, "\(route.method) \(route.path) names the missing schema \(name)")
                }
            }
            var operationIDs: [String: [String]] = [:]
            for (path, operations) in document.json["paths"].object ?? [:] {
                for (method, operation) in operations.object ?? [:] {
                    let id = operation["operationId"].string
                    #expect(id?.isEmpty == false, "\(method) \(path) has no operationId")
                    operationIDs[id ?? "", default: []].append("\(method) \(path)")
                }
            }
            for (id, operations) in operationIDs where operations.count > 1 {
                Issue.record("operationId \(id) is used by \(operations.sorted())")
            }
        }
    }

    @Test(.enabled(if: validatorAvailable || isCI, "python3 -m openapi_spec_validator is not installed (pip install openapi-spec-validator)"))
    func theDocumentValidates() async throws {
        try #require(Self.validatorAvailable, "CI must provide python3 with openapi-spec-validator (pip install openapi-spec-validator)")
        let text = try await withTestHub { _, client in try await Self.document(client).text }
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("mzpanel-openapi-\(UUID().uuidString).json")
        try Data(text.utf8).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let (status, output) = try Self.run(["python3", "-m", "openapi_spec_validator", file.path])
        #expect(status == 0, "openapi_spec_validator: \(output)")
    }
}
