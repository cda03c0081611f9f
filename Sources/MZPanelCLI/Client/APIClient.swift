import Foundation
import HubAPI
import TrustedHTTP

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// A small JSON client for the hub's API, used by every client command.
struct APIClient {
    let baseURL: String
    let token: String
    let trust: HubTrust

    init(settings: ClientSettings) {
        baseURL = settings.url.hasSuffix("/") ? String(settings.url.dropLast()) : settings.url
        token = settings.token
        trust = settings.trust
    }

    static func fromEnvironment() throws -> APIClient { APIClient(settings: try ClientSettings.load()) }

    /// Sends a request and decodes the JSON answer; API errors become `CLIError`s with the hub's message.
    func send<T: Decodable>(_ method: String, _ path: String, query: [String: String?] = [:], body: (any Encodable)? = nil, as type: T.Type = T.self)
        async throws -> T
    {
        let data = try await raw(method, path, query: query, body: body)
        do {
            return try HubJSON.decoder().decode(T.self, from: data)
        } catch {
            throw CLIError("the hub at \(baseURL) answered something this CLI does not understand; are the CLI and hub the same version?")
        }
    }

    func raw(_ method: String, _ path: String, query: [String: String?] = [:], body: (any Encodable)? = nil) async throws -> Data {
        guard var components = URLComponents(string: baseURL + path) else {
            throw CLIError("the hub URL \"\(baseURL)\" is not a valid URL; run mzpanel login again")
        }
        let items = query.compactMap { key, value in value.map { URLQueryItem(name: key, value: $0) } }.sorted { $0.name < $1.name }
        if !items.isEmpty { components.queryItems = items }
        guard let url = components.url else { throw CLIError("cannot build a URL for \(path)") }
        var request = URLRequest(url: url)
        request.httpMethod = method
        request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization")
        request.setValue("application/json", forHTTPHeaderField: "Accept")
        if let body {
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
            request.httpBody = try HubJSON.encoder().encode(body)
        }
        let data: Data
        let response: URLResponse
        do {
            (data, response) = try await trust.caFile == nil ? URLSession.shared.data(for: request) : CurlClient.data(for: request, trust: trust)
        } catch {
            throw CLIError("cannot reach the hub at \(baseURL): \(explain(error))")
        }
        guard let http = response as? HTTPURLResponse else { throw CLIError("the hub at \(baseURL) did not answer over HTTP") }
        guard (200..<300).contains(http.statusCode) else {
            if let failure = try? JSONDecoder().decode(ErrorBody.self, from: data) {
                let field = failure.error.field.map { " (\($0))" } ?? ""
                throw CLIError(failure.error.message + field, exitCode: http.statusCode == 404 ? 3 : 1)
            }
            throw CLIError("the hub answered HTTP \(http.statusCode) for \(method) \(path)")
        }
        return data
    }

    /// A failed call in words, with what to do; a certificate problem names the trust in use.
    private func explain(_ error: any Error) -> String {
        let detail = (error as? TrustedHTTPError)?.message ?? error.localizedDescription
        if HubTrust.isCertificateFailure(error) {
            if let caFile = trust.caFile {
                return "the hub's certificate does not verify against the CA file \(caFile) (\(detail)); check --ca-file / MZPANEL_CA_FILE"
            }
            return
                "the hub's certificate is not trusted by the system's certificate authorities (\(detail)); for a private CA log in with --ca-file FILE or set MZPANEL_CA_FILE"
        }
        return "\(detail). Is `mzpanel serve` running, and is the URL right?"
    }

    /// GETs a streamed answer straight into a file (a download); API errors as for `raw`.
    func download(_ path: String, query: [String: String?], to output: URL) async throws -> Int64 {
        guard var components = URLComponents(string: baseURL + path) else { throw CLIError("the hub URL \"\(baseURL)\" is not a valid URL") }
        components.queryItems = query.compactMap { key, value in value.map { URLQueryItem(name: key, value: $0) } }.sorted { $0.name < $1.name }
        guard let url = components.url else { throw CLIError("cannot build a URL for \(path)") }
        var request = URLRequest(url: url, timeoutInterval: 600)
        request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization")
        let (file, response): (URL, URLResponse)
        do {
            (file, response) =
                try await trust.caFile == nil ? URLSession.shared.download(for: request) : CurlClient.download(for: request, trust: trust)
        } catch {
            throw CLIError("the download from \(baseURL) failed: \(explain(error))")
        }
        let status = (response as? HTTPURLResponse)?.statusCode ?? 0
        guard (200..<300).contains(status) else {
            let data = (try? Data(contentsOf: file)) ?? Data()
            try? FileManager.default.removeItem(at: file)
            if let failure = try? JSONDecoder().decode(ErrorBody.self, from: data) {
                throw CLIError(failure.error.message, exitCode: status == 404 ? 3 : 1)
            }
            throw CLIError("the hub answered HTTP \(status) for the download")
        }
        try? FileManager.default.removeItem(at: output)
        try FileManager.default.moveItem(at: file, to: output)
        return ((try? FileManager.default.attributesOfItem(atPath: output.path))?[.size] as? NSNumber)?.int64Value ?? 0
    }
}
