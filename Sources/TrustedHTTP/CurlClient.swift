import CCurlHTTP
import Dispatch
import Foundation

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// HTTP(S) calls through libcurl with the hub's trust applied. Foundation's URLSession on Linux
/// always trusts the system's authorities and cannot be given a CA file, so the agent and the CLI
/// send their calls here when one is set.
public enum CurlClient {
    /// Sends `request` and returns the body and the answer (any HTTP status).
    /// Cancelling the task aborts the call within a fraction of a second.
    public static func data(for request: URLRequest, trust: HubTrust) async throws -> (Data, HTTPURLResponse) {
        let (data, response) = try await perform(request, trust: trust, sink: nil)
        return (data ?? Data(), response)
    }

    /// Sends `request` and streams the body into a new file (0600) in the temporary directory.
    public static func download(for request: URLRequest, trust: HubTrust) async throws -> (URL, HTTPURLResponse) {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("mzpanel-download-\(UUID().uuidString)")
        do {
            let (_, response) = try await perform(request, trust: trust, sink: file.path)
            return (file, response)
        } catch {
            try? FileManager.default.removeItem(at: file)
            throw error
        }
    }

    private static func perform(_ request: URLRequest, trust: HubTrust, sink: String?) async throws -> (Data?, HTTPURLResponse) {
        guard let url = request.url else { throw TrustedHTTPError(code: nil, message: "the request has no URL") }
        let call = Call(request: request, url: url, trust: trust, sink: sink)
        let cancel = Cancel()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<(Data?, HTTPURLResponse), any Error>) in
                // libcurl blocks: a dispatch thread waits, never one of the cooperative pool's few.
                DispatchQueue.global().async {
                    continuation.resume(with: Result { try call.run(cancel: cancel) })
                }
            }
        } onCancel: {
            cancel.set()
        }
    }

    /// A flag libcurl's progress callback reads between reads and writes.
    private final class Cancel: @unchecked Sendable {
        // Owned by this object; set from any thread, read by libcurl's thread (an atomic in C).
        let flag: OpaquePointer?
        init() { flag = ccurl_cancel_new() }
        func set() { ccurl_cancel_set(flag) }
        deinit { ccurl_cancel_free(flag) }
    }

    private struct Call: Sendable {
        let request: URLRequest
        let url: URL
        let trust: HubTrust
        let sink: String?

        func run(cancel: Cancel) throws -> (Data?, HTTPURLResponse) {
            let method = request.httpMethod ?? "GET"
            let headers = (request.allHTTPHeaderFields ?? [:]).map { "\($0.key): \($0.value)" }
            let body = request.httpBody
            let timeout = Int(max(request.timeoutInterval, 1) * 1000)
            var response = ccurl_response()
            defer { ccurl_response_free(&response) }
            let code = withCStrings(headers) { headerPointers in
                (body ?? Data()).withUnsafeBytes { bytes in
                    ccurl_perform(
                        method, url.absoluteString, headerPointers, headerPointers.count,
                        body == nil ? nil : bytes.baseAddress, body?.count ?? 0, trust.caFile, timeout, sink, cancel.flag, &response)
                }
            }
            if code != 0 {
                if code == 42 { throw CancellationError() }  // CURLE_ABORTED_BY_CALLBACK
                let message = withUnsafeBytes(of: response.error) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
                throw TrustedHTTPError(code: Int(code), message: message)
            }
            let data = sink == nil ? (response.body.map { Data(bytes: $0, count: response.body_length) } ?? Data()) : nil
            guard let answer = HTTPURLResponse(url: url, statusCode: response.status, httpVersion: "HTTP/1.1", headerFields: [:]) else {
                throw TrustedHTTPError(code: nil, message: "the hub's answer has an invalid status \(response.status)")
            }
            return (data, answer)
        }
    }

    private static func withCStrings<R>(_ strings: [String], _ body: ([UnsafePointer<CChar>?]) -> R) -> R {
        let copies = strings.map { strdup($0) }
        defer { copies.forEach { free($0) } }
        return body(copies.map { UnsafePointer($0) })
    }
}
