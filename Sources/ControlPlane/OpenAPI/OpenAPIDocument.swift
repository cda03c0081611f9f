import BackupCore
import Foundation
import HTTPTypes

/// Builds the OpenAPI 3.0 document of the API from the route table and the schema catalogue.
enum OpenAPIDocument {
    static func build(routes: [RouteDoc], version: String) throws -> Data {
        var paths: [String: [String: Any]] = [:]
        for route in routes {
            var operation: [String: Any] = [
                "summary": route.summary,
                "tags": [route.tag],
                "operationId": operationID(route),
            ]
            var parameters: [[String: Any]] = pathParameters(route.path).map {
                ["name": $0, "in": "path", "required": true, "schema": ["type": "string"], "description": "id or name"]
            }
            parameters += route.query.map { name in
                ["name": name, "in": "query", "required": false, "schema": querySchema(name)]
            }
            if !parameters.isEmpty { operation["parameters"] = parameters }
            if let body = route.requestSchema {
                operation["requestBody"] = ["required": true, "content": ["application/json": ["schema": ref(body)]]]
            }
            var responses: [String: Any] = [
                String(route.successStatus): [
                    "description": "Success",
                    // "Binary": a file or archive streamed as is (downloads).
                    "content": route.responseSchema == "Binary"
                        ? ["application/octet-stream": ["schema": ["type": "string", "format": "binary"]]]
                        : ["application/json": ["schema": route.responseSchema.map(ref) ?? ["type": "object"]]],
                ],
                "400": errorResponse("The input is invalid; the message says what to change"),
            ]
            if let scope = route.scope {
                operation["description"] = "Needs an API token with the \(scope.rawValue) scope or a wider one (metrics < read < write < admin)."
                operation["x-required-scope"] = scope.rawValue
                responses["403"] = errorResponse("The API token's scope does not include this (insufficient_scope)")
            }
            if route.authenticated {
                responses["401"] = errorResponse("Missing, invalid, revoked or expired credentials")
                responses["404"] = errorResponse("No such resource in the caller's account")
            } else {
                operation["security"] = [] as [Any]
            }
            if route.path.contains("destinations") || route.path.hasSuffix("/jobs") {
                responses["402"] = errorResponse("The account's plan does not include this")
            }
            if route.method != .get { responses["409"] = errorResponse("Conflicts with existing data (name taken, in use)") }
            if route.method == .post && route.path == "/api/v1/session" {
                responses["429"] = errorResponse("Too many failed logins for this email or address: wait Retry-After seconds")
            }
            operation["responses"] = responses
            paths[route.path, default: [:]][route.method.rawValue.lowercased()] = operation
        }
        let schemas = try JSONSerialization.jsonObject(with: Data(OpenAPISchemas.json.utf8))
        let document: [String: Any] = [
            "openapi": "3.0.3",
            "info": [
                "title": "MZPanel Backups API",
                "version": version,
                "description":
                    "The hub's JSON API. Authenticate with Authorization: Bearer <API token>, or a browser session cookie plus the header X-MZPanel-Request: 1 on changes. Every resource is confined to the caller's account; another account's resources answer 404.",
            ],
            "servers": [["url": "/"]],
            "security": [["bearer": [] as [Any]], ["session": [] as [Any]]],
            "paths": paths,
            "components": [
                "securitySchemes": [
                    "bearer": ["type": "http", "scheme": "bearer"],
                    "session": ["type": "apiKey", "in": "cookie", "name": "mzpanel_session"],
                ],
                "schemas": schemas,
            ],
        ]
        return try JSONSerialization.data(withJSONObject: document, options: [.sortedKeys])
    }

    static func ref(_ name: String) -> [String: Any] { ["$ref": "#/components/schemas/\(name)"] }

    static func errorResponse(_ description: String) -> [String: Any] {
        ["description": description, "content": ["application/json": ["schema": ref("Error")]]]
    }

    static func pathParameters(_ path: String) -> [String] {
        path.split(separator: "/").compactMap { part in
            part.hasPrefix("{") && part.hasSuffix("}") ? String(part.dropFirst().dropLast()) : nil
        }
    }

    static func querySchema(_ name: String) -> [String: Any] {
        switch name {
        case "limit": ["type": "integer", "minimum": 1, "maximum": 500]
        case "since", "until": ["type": "string", "format": "date-time"]
        case "status": ["type": "string", "enum": ["queued", "running", "succeeded", "partial", "failed", "interrupted", "cancelled"]]
        default: ["type": "string"]
        }
    }

    static func operationID(_ route: RouteDoc) -> String {
        let words = route.path.split(separator: "/").filter { $0 != "api" && $0 != "v1" }.map { part -> String in
            let clean = part.replacingOccurrences(of: "{", with: "by-").replacingOccurrences(of: "}", with: "")
            return clean.split(separator: "-").map { $0.prefix(1).uppercased() + $0.dropFirst() }.joined()
        }
        return route.method.rawValue.lowercased() + words.joined()
    }
}
