import Foundation
import HTTPTypes
import Hummingbird

extension StartedDownload {
    /// The HTTP answer that streams the download: headers now, then each part as the relay hands it on.
    func response(relay: DownloadRelay) -> Response {
        var headers: HTTPFields = [
            .contentType: archive == "zip" ? "application/zip" : archive == "tar" ? "application/x-tar" : "application/octet-stream"
        ]
        headers[.contentDisposition] =
            "attachment; filename=\"\(fileName.filter { $0 != "\"" && !$0.isNewline })\"; filename*=UTF-8''"
            + (fileName.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "download")
        let (id, first, parts) = (id, first, parts)
        return Response(
            status: .ok, headers: headers,
            body: ResponseBody { writer in
                do {
                    if let first { try await writer.write(first) }
                    while let part = try await parts.next() {
                        try await writer.write(part)
                        await relay.taken(id: id)
                    }
                    await relay.close(id: id)
                    try await writer.finish(nil)
                } catch {
                    await relay.close(id: id)  // the agent's next post is refused, and it stops restic
                    throw error
                }
            })
    }
}
