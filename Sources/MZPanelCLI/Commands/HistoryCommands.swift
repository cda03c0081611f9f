import ArgumentParser
import BackupCore
import Foundation
import HubAPI

/// Filters and paging shared by `runs list` and `snapshots list`.
struct HistoryFilters: ParsableArguments {
    @Option(name: .long, help: "Only this server (id or name).") var server: String?
    @Option(name: .long, help: "Only this job (id or name).") var job: String?
    @Option(name: .long, help: "Only copies in this destination (id or name).") var destination: String?
    @Option(name: .long, help: "From this time on (ISO-8601, e.g. 2026-11-01 or 2026-11-01T02:00:00Z).") var since: String?
    @Option(name: .long, help: "Before this time (ISO-8601).") var until: String?
    @Option(name: .long, help: "Page size (1–500, default 50).") var limit: Int?
    @Option(name: .long, help: "Continue after this cursor (printed under the previous page).") var cursor: String?

    var query: [String: String?] {
        ["server": server, "job": job, "destination": destination, "since": since, "until": until, "limit": limit.map(String.init), "cursor": cursor]
    }

}

struct RunsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "runs", abstract: "List and show job runs.", subcommands: [List.self, Show.self, SignRestore.self], defaultSubcommand: List.self
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "List runs, newest first.")
        @OptionGroup var filters: HistoryFilters
        @Option(name: .long, help: "Only runs with this status (succeeded, partial, failed, running…).") var status: String?
        @OptionGroup var options: ClientOptions

        func run() async throws {
            var query = filters.query
            query["status"] = status
            let data = try await options.client().raw("GET", "/api/v1/runs", query: query)
            if options.json { return Output.json(data) }
            let page = try HubDecoding.decode(RunPage.self, data)
            if page.runs.isEmpty { return print("No runs match.") }
            Output.table(["ID", "JOB", "STATUS", "TRIGGER", "STARTED", "ADDED"], RunsCommand.rows(page))
            Output.nextPage(page.nextCursor)
        }
    }

    /// The runs table: jobs by name (ids stay in `--json`).
    static func rows(_ page: RunPage) -> [[String]] {
        page.runs.map {
            [
                $0.id, page.names[$0.jobID] ?? $0.jobID, $0.statusText, $0.trigger.rawValue, Output.date($0.startedAt ?? $0.createdAt),
                Output.bytes($0.bytesAdded),
            ]
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "show", abstract: "Show a run and its result per destination.")
        @Argument(help: "Run id.") var run: String
        @OptionGroup var options: ClientOptions

        func run() async throws {
            let data = try await options.client().raw("GET", "/api/v1/runs/\(run.pathSegment)")
            if options.json { return Output.json(data) }
            let item = try HubDecoding.decode(Run.self, data)
            Output.fields(
                [
                    ("ID", item.id), ("Job", item.jobID), ("Server", item.serverID), ("Status", item.statusText),
                    ("Trigger", item.trigger.rawValue), ("Slot", Output.date(item.slot)), ("Started", Output.date(item.startedAt)),
                    ("Finished", Output.date(item.finishedAt)), ("Added", Output.bytes(item.bytesAdded)),
                    ("Processed", Output.bytes(item.bytesProcessed)),
                ] + (item.signature.map { [("Signature", $0.state == .awaiting ? "awaiting: mzpanel runs sign \(item.id)" : "signed")] } ?? []))
            for result in item.results {
                print("  \(result.destinationID): \(result.status.rawValue)" + (result.error.map { " — " + $0 } ?? ""))
            }
            if let log = item.logExcerpt, !log.isEmpty { print("\nLog:\n" + log) }
        }
    }
}

struct SnapshotsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "snapshots", abstract: "List, show and browse snapshots.",
        subcommands: [List.self, Show.self, BrowseCommand.self, DownloadCommand.self], defaultSubcommand: List.self
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "List snapshots, newest first.")
        @OptionGroup var filters: HistoryFilters
        @OptionGroup var options: ClientOptions

        func run() async throws {
            let data = try await options.client().raw("GET", "/api/v1/snapshots", query: filters.query)
            if options.json { return Output.json(data) }
            let page = try HubDecoding.decode(SnapshotPage.self, data)
            if page.snapshots.isEmpty { return print("No snapshots match.") }
            Output.table(["ID", "TIME", "JOB", "SERVER", "COPIES", "SIZE"], SnapshotsCommand.rows(page))
            Output.nextPage(page.nextCursor)
        }
    }

    /// The snapshots table: job, server and the destinations of the copies by name (ids stay in `--json`).
    static func rows(_ page: SnapshotPage) -> [[String]] {
        page.snapshots.map {
            [
                $0.id, Output.date($0.createdAt), page.names[$0.jobID] ?? $0.jobID, page.names[$0.serverID] ?? $0.serverID,
                $0.copies.map { page.names[$0.destinationID] ?? $0.destinationID }.joined(separator: ","),
                Output.bytes($0.copies.map(\.bytesTotal).max() ?? 0),
            ]
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "show", abstract: "Show a snapshot and its copies.")
        @Argument(help: "Snapshot id.") var snapshot: String
        @OptionGroup var options: ClientOptions

        func run() async throws {
            let data = try await options.client().raw("GET", "/api/v1/snapshots/\(snapshot.pathSegment)")
            if options.json { return Output.json(data) }
            let item = try HubDecoding.decode(Snapshot.self, data)
            Output.fields([
                ("ID", item.id), ("Time", Output.date(item.createdAt)), ("Job", item.jobID), ("Server", item.serverID), ("Run", item.runID),
            ])
            for copy in item.copies {
                print("  \(copy.destinationID): restic \(copy.resticSnapshotIDs.joined(separator: " ")), \(Output.bytes(copy.bytesTotal))")
            }
            if let stack = item.stack {
                print("Stack \(stack.project)" + (stack.directory.map { " (project directory \($0))" } ?? ""))
                for service in stack.services {
                    let parts = (service.dump.map { ["database: \($0.rawValue) dump"] } ?? []) + service.volumes.map { "volume \($0)" }
                    print("  service \(service.name)" + (parts.isEmpty ? "" : ": " + parts.joined(separator: ", ")))
                }
                for bind in stack.bindMounts { print("  bind mount \(bind)") }
            }
        }
    }
}
