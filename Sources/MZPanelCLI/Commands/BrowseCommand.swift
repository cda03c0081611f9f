import ArgumentParser
import BackupCore
import Foundation
import HubAPI

/// `mzpanel snapshots browse SNAPSHOT [PATH]`: one folder of a snapshot, listed from the hub's
/// copy of its tree (the first look asks the server to list it, and waits).
struct BrowseCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "browse", abstract: "List a folder of a snapshot (the first look lists the snapshot once, then every folder is instant).")
    @Argument(help: "The snapshot id.") var snapshot: String
    @Argument(help: "The folder, e.g. /var/www (default /).") var path: String = "/"
    @Option(name: .long, help: "Which copy (a destination holding the snapshot; default the first).") var destination: String?
    @Flag(name: .long, help: "List the snapshot again (after a failed listing).") var refresh = false
    @Option(name: .long, help: "Give up waiting for the listing after this many seconds.") var timeout: Int = 600
    @OptionGroup var options: ClientOptions

    /// The folder's first page once the snapshot is listed (asking for the listing and waiting).
    static func listed(
        _ client: APIClient, snapshot: String, path: String, destination: String?, refresh: Bool, timeout: Int,
        quiet: Bool
    ) async throws -> (TreeView, Data) {
        let deadline = Date().addingTimeInterval(TimeInterval(timeout))
        var query: [String: String?] = ["path": path, "destination": destination, "refresh": refresh ? "1" : nil]
        var data = try await client.raw("GET", "/api/v1/snapshots/\(snapshot.pathSegment)/tree", query: query)
        var tree = try HubDecoding.decode(TreeView.self, data)
        query["refresh"] = nil
        while tree.status == .listing {
            if let waiting = tree.error { throw CLIError(waiting) }
            if !quiet { FileHandle.standardError.write(Data("\r\u{1B}[2Klisting the snapshot on its server… \(tree.listed) entries".utf8)) }
            if Date() > deadline { throw CLIError("the listing is still running after \(timeout) s; try again later") }
            try await Task.sleep(for: .milliseconds(700))
            data = try await client.raw("GET", "/api/v1/snapshots/\(snapshot.pathSegment)/tree", query: query)
            tree = try HubDecoding.decode(TreeView.self, data)
        }
        if !quiet { FileHandle.standardError.write(Data("\r\u{1B}[2K".utf8)) }
        if tree.status == .failed { throw CLIError("the snapshot could not be listed: \(tree.error ?? "unknown error"); retry with --refresh") }
        return (tree, data)
    }

    func run() async throws {
        let client = try options.client()
        let (tree, data) = try await Self.listed(
            client, snapshot: snapshot, path: path, destination: destination, refresh: refresh, timeout: timeout,
            quiet: options.json)
        var query: [String: String?] = ["path": path, "destination": destination]
        var entries = tree.entries
        var after = tree.nextAfter
        while let next = after {
            query["after"] = next
            let more = try HubDecoding.decode(
                TreeView.self, try await client.raw("GET", "/api/v1/snapshots/\(snapshot.pathSegment)/tree", query: query))
            entries += more.entries
            after = more.nextAfter
        }
        if options.json { return Output.json(data) }
        if entries.isEmpty { return print("\(tree.path): empty, or not a folder of this snapshot") }
        Output.table(
            ["TYPE", "MODE", "SIZE", "MODIFIED", "NAME"],
            entries.map { entry in
                [
                    entry.type, entry.mode, entry.type == "dir" ? "-" : Output.bytes(entry.size), Output.date(entry.modifiedAt),
                    entry.name.replacingOccurrences(of: "\n", with: "\\n") + (entry.type == "dir" ? "/" : ""),
                ]
            })
    }
}

/// `mzpanel snapshots download SNAPSHOT PATH -o FILE`: a file as is, a folder as tar or zip,
/// streamed from the snapshot's server through the hub into FILE.
struct DownloadCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "download", abstract: "Download a file (as is) or a folder (tar or zip) of a snapshot, streamed from its server.")
    @Argument(help: "The snapshot id.") var snapshot: String
    @Argument(help: "The file or folder in the snapshot, e.g. /var/www/site/uploads.") var path: String
    @Option(name: [.short, .long], help: "Write to this file (default: the name in the snapshot, plus .tar or .zip for a folder).") var output:
        String?
    @Option(name: .long, help: "Archive format for a folder: tar (default) or zip.") var format: String?
    @Option(name: .long, help: "Which copy (a destination holding the snapshot; default the first).") var destination: String?
    @OptionGroup var options: ClientOptions

    func run() async throws {
        if let format, !["tar", "zip"].contains(format) { throw CLIError("--format is tar or zip") }
        let client = try options.client()
        let parent = (path as NSString).deletingLastPathComponent
        let (tree, _) = try await BrowseCommand.listed(
            client, snapshot: snapshot, path: parent.isEmpty ? "/" : parent, destination: destination,
            refresh: false, timeout: 600, quiet: options.json)
        let name = (path as NSString).lastPathComponent
        let isFolder = path == "/" || tree.entries.first { $0.name == name }?.type == "dir"
        let target = URL(fileURLWithPath: output ?? ((name.isEmpty || name == "/" ? snapshot : name) + (isFolder ? "." + (format ?? "tar") : "")))
        let bytes = try await client.download(
            "/api/v1/snapshots/\(snapshot.pathSegment)/download",
            query: ["path": path, "format": format, "destination": destination], to: target)
        if options.json { return try Output.json(["file": target.path, "bytes": String(bytes)]) }
        print("Wrote \(target.path) (\(Output.bytes(bytes))).")
    }
}
