import Foundation
import HTTPTypes
import Hummingbird

/// What a new server downloads, without credentials: `GET /install.sh` (rendered with this hub's
/// URL and its builds' SHA-256) and `GET /agent/mzpanel-agent-linux-ARCH[.sha256]`.
struct AgentDistributionRoutes {
    let hub: HubServices
    let template: String

    func register(on router: Router<HubRequestContext>) {
        router.get("/install.sh", use: installScript)
        router.get("/agent/{file}", use: file)
    }

    /// Their entries in the OpenAPI document (outside `/api`, without credentials).
    static let docs: [RouteDoc] = [
        RouteDoc(
            method: .get, path: "/install.sh", summary: "The agent's install script, rendered with this hub's URL and its builds' SHA-256",
            tag: "agent", authenticated: false, scope: nil, requestSchema: nil, responseSchema: "Text", successStatus: 200, query: []),
        RouteDoc(
            method: .get, path: "/agent/{file}",
            summary: "The self-contained agent build (mzpanel-agent-linux-amd64, -arm64) or its SHA-256 (….sha256)", tag: "agent",
            authenticated: false, scope: nil, requestSchema: nil, responseSchema: "Binary", successStatus: 200, query: []),
    ]

    @Sendable func installScript(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        let script = hub.agentBuilds.installScript(hubURL: hub.configuration.effectivePublicURL, template: template)
        return Response(
            status: .ok, headers: [.contentType: "text/plain; charset=utf-8", .cacheControl: "no-store"],
            body: .init(byteBuffer: .init(string: script)))
    }

    @Sendable func file(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        let name = try context.parameter("file")
        let wantsChecksum = name.hasSuffix(".sha256")
        let binaryName = wantsChecksum ? String(name.dropLast(".sha256".count)) : name
        guard let architecture = AgentBuilds.architectures.first(where: { AgentBuilds.fileName(architecture: $0) == binaryName }) else {
            throw APIError(
                .notFound, code: "not_found",
                "no such agent file \"\(name)\"; the hub serves mzpanel-agent-linux-amd64 and mzpanel-agent-linux-arm64 (and their .sha256)")
        }
        guard let build = hub.agentBuilds.build(architecture: architecture) else {
            throw APIError(
                .notFound, code: "no_agent_build",
                "this hub serves no agent build for linux-\(architecture); on the hub, run scripts/build-agent and start mzpanel serve with --agent-dir (docs/operations.md)"
            )
        }
        if wantsChecksum {
            return Response(
                status: .ok, headers: [.contentType: "text/plain; charset=utf-8", .cacheControl: "no-store"],
                body: .init(byteBuffer: .init(string: "\(build.sha256)  \(binaryName)\n")))
        }
        let size = (try? FileManager.default.attributesOfItem(atPath: build.path)[.size] as? Int) ?? nil
        var headers: HTTPFields = [
            .contentType: "application/octet-stream", .cacheControl: "no-store",
            .contentDisposition: "attachment; filename=\"\(binaryName)\"",
        ]
        if let size { headers[.contentLength] = String(size) }
        headers[HTTPField.Name("X-Checksum-SHA256")!] = build.sha256
        return Response(status: .ok, headers: headers, body: try await FileIO().loadFile(path: build.path, context: context))
    }
}
