import Foundation

/// The hub's outbound client for notifications: curl, with its settings on standard input (so a
/// webhook URL, which is often a credential, and an SMTP login never appear in a process's arguments).
enum Curl {
    static let path = "/usr/bin/curl"

    /// Settings every outbound request shares: no proxy (the checked addresses are the ones used),
    /// no redirects, only the given protocols, pinned to `addresses`.
    static func guarded(protocols: String, host: String, port: Int, addresses: [String], seconds: Int) -> [String] {
        [
            "--silent", "--max-time", String(seconds), "--proto", protocols, "--proto-redir", "-all", "--max-redirs", "0",
            "--noproxy", "*", "--resolve", OutboundAddress.curlResolve(host: host, port: port, addresses: addresses),
        ]
    }

    /// curl config quoting: backslash, double quote and line breaks escaped.
    static func quoted(_ text: String) -> String {
        text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n").replacingOccurrences(of: "\r", with: "\\r").replacingOccurrences(of: "\t", with: "\\t")
    }

    /// Runs curl to its end with `config` on its standard input; its exit status and standard output, at most `limit`
    /// bytes (standard error is dropped: it can quote what the remote server said).
    static func run(_ arguments: [String], config: String, limit: Int = 4096) async -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments + ["--config", "-"]
        let input = Pipe()
        let output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        return await withCheckedContinuation { continuation in
            process.terminationHandler = { finished in
                let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile().prefix(limit), as: UTF8.self)
                continuation.resume(returning: (finished.terminationStatus, text))
            }
            do {
                try process.run()
                input.fileHandleForWriting.write(Data(config.utf8))
                try? input.fileHandleForWriting.close()
            } catch {
                process.terminationHandler = nil
                continuation.resume(returning: (-1, ""))
            }
        }
    }

    /// A failed curl run in words, from its exit status only.
    static func describe(_ status: Int32) -> String {
        switch status {
        case -1: "curl could not be started (is /usr/bin/curl installed?)"
        case 1: "the URL's protocol is not allowed here"
        case 6: "the host name could not be resolved"
        case 7: "the connection was refused"
        case 28: "no answer in time"
        case 35, 58, 59, 60, 77, 80, 83, 90, 91: "the TLS connection failed (certificate or handshake)"
        case 47: "the server answered with a redirect, which is not followed"
        case 52: "the server closed the connection without an answer"
        case 55, 56: "the connection broke while sending"
        case 64: "the server does not offer TLS, which is required"
        case 67: "the server refused the login"
        default: "curl exit \(status)"
        }
    }
}
