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
            if route.requestSchema == "Binary" {
                operation["requestBody"] = [
                    "required": false, "content": ["application/octet-stream": ["schema": ["type": "string", "format": "binary"]]],
                ]
            } else if let body = route.requestSchema {
                operation["requestBody"] = ["required": true, "content": ["application/json": ["schema": ref(body)]]]
            }
            var responses: [String: Any] = [
                String(route.successStatus): [
                    "description": "Success",
                    // "Binary": a file or archive streamed as is (downloads).
                    "content": content(route.responseSchema),
                ],
                "400": errorResponse("The input is invalid; the message says what to change"),
            ]
            if let scope = route.scope {
                operation["description"] = "Needs an API token with the \(scope.rawValue) scope or a wider one (metrics < read < write < admin)."
                operation["x-required-scope"] = scope.rawValue
                responses["403"] = errorResponse(
                    "The API token's scope (insufficient_scope) or the member's role (forbidden_role) does not include this, or the account requires two-factor sign-in first (two_factor_required)"
                )
            }
            if route.authenticated {
                responses["401"] = errorResponse("Missing, invalid, revoked or expired credentials")
                responses["404"] = errorResponse("No such resource in the caller's account")
                if route.path.hasPrefix("/api/agent/") { operation["security"] = [["agent": [] as [Any]]] }
            } else {
                operation["security"] = [] as [Any]
                // No credentials needed, but one that is sent must be valid (and a login can fail).
                responses["401"] = errorResponse("The credentials sent are not valid")
            }
            if route.requestSchema != nil { responses["413"] = errorResponse("The body is larger than this route takes") }
            for (status, description) in limits(route) { responses[status] = errorResponse(description) }
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
        guard var schemas = try JSONSerialization.jsonObject(with: Data(OpenAPISchemas.json.utf8)) as? [String: Any] else {
            throw CocoaError(.propertyListReadCorrupt)
        }
        closeRequestSchemas(&schemas, names: Set(routes.compactMap(\.requestSchema)))
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
                    "agent": [
                        "type": "apiKey", "in": "header", "name": "Authorization",
                        "description": "Agent <credential>: the credential an agent received when it enrolled (agent routes only)",
                    ],
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

    /// A query parameter is left out or has a value: an empty one (`until=`) answers 400.
    static func querySchema(_ name: String) -> [String: Any] {
        switch name {
        case "limit": ["type": "integer", "minimum": 1, "maximum": 500]
        case "wait": ["type": "integer", "minimum": 0, "maximum": 30]
        case "seq": ["type": "integer", "minimum": 0]
        case "since", "until": ["type": "string", "format": "date-time"]
        case "status": ["type": "string", "enum": ["queued", "running", "succeeded", "partial", "failed", "interrupted", "cancelled"]]
        case "cursor":
            ["type": "string", "pattern": #"^mzc1\.[0-9]+\.[A-Za-z0-9_]+$"#, "description": "the nextCursor of the previous page, unchanged"]
        case "format": ["type": "string", "enum": ["tar", "zip"]]
        case "done", "refresh": ["type": "string", "enum": ["1"]]
        default: ["type": "string", "minLength": 1]
        }
    }

    /// A response's content: JSON of a schema, a binary stream (`Binary`) or text (`Text`, Prometheus).
    static func content(_ schema: String?) -> [String: Any] {
        switch schema {
        case "Binary": ["application/octet-stream": ["schema": ["type": "string", "format": "binary"]]]
        case "Text": ["text/plain": ["schema": ["type": "string"]]]
        default: ["application/json": ["schema": schema.map(ref) ?? ["type": "object"]]]
        }
    }

    /// The answers of routes that bound what a caller may hold open or send.
    static func limits(_ route: RouteDoc) -> [(String, String)] {
        switch route.path {
        case "/api/agent/v1/downloads/{download}": [("409", "The part is out of order (seq) or the download is over")]
        case "/api/agent/v1/listings/{snapshot}": [("413", "The part or the whole listing is larger than the hub takes")]
        case "/agent/{file}": [("404", "No such agent file, or this hub serves no build for it (no_agent_build)")]
        default: []
        }
    }

    /// Request bodies are closed: a key the server does not know answers 400, so every object a
    /// request schema reaches says `additionalProperties: false` (dictionaries keep their value schema).
    static func closeRequestSchemas(_ schemas: inout [String: Any], names: Set<String>) {
        var pending = Array(names)
        var seen: Set<String> = []
        while let name = pending.popLast() {
            guard !seen.contains(name), let schema = schemas[name] as? [String: Any] else { continue }
            seen.insert(name)
            schemas[name] = close(schema) { pending.append($0) }
        }
    }

    private static func close(_ schema: [String: Any], referenced: (String) -> Void) -> [String: Any] {
        var schema = schema
        if let target = schema["$ref"] as? String {
            referenced(String(target.split(separator: "/").last ?? ""))
            return schema
        }
        if var properties = schema["properties"] as? [String: Any] {
            for (key, value) in properties {
                if let value = value as? [String: Any] { properties[key] = close(value, referenced: referenced) }
            }
            schema["properties"] = properties
            if schema["additionalProperties"] == nil { schema["additionalProperties"] = false }
        } else if let additional = schema["additionalProperties"] as? [String: Any] {
            schema["additionalProperties"] = close(additional, referenced: referenced)
        } else if schema["type"] as? String == "object", schema["additionalProperties"] == nil {
            schema["additionalProperties"] = false
        }
        if let items = schema["items"] as? [String: Any] { schema["items"] = close(items, referenced: referenced) }
        return schema
    }

    static func operationID(_ route: RouteDoc) -> String {
        let words = route.path.split(separator: "/").filter { $0 != "api" && $0 != "v1" }.map { part -> String in
            let clean = part.replacingOccurrences(of: "{", with: "by-").replacingOccurrences(of: "}", with: "")
            return clean.split(separator: "-").map { $0.prefix(1).uppercased() + $0.dropFirst() }.joined()
        }
        return route.method.rawValue.lowercased() + words.joined()
    }
}
