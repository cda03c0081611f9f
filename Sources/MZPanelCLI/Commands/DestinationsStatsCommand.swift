import ArgumentParser
import BackupCore
import Foundation
import HubAPI

/// `mzpanel destinations stats D [--days N]`: the repositories' sizes, growth and snapshot counts.
struct DestinationsStatsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stats", abstract: "Show a destination's repository statistics: total and deduplicated size, growth per day, snapshots.")
    @Argument(help: "Destination id or name.") var destination: String
    @Option(name: .long, help: "How many days of history (default 90).") var days: Int = 90
    @OptionGroup var options: ClientOptions

    func run() async throws {
        guard (1...3650).contains(days) else { throw CLIError("--days \(days) is outside 1 to 3650") }
        let since = HubJSON.format(Date().addingTimeInterval(-Double(days) * 86_400))
        let data = try await options.client().raw("GET", "/api/v1/destinations/\(destination.pathSegment)/stats", query: ["since": since])
        if options.json { return Output.json(data) }
        let stats = try HubDecoding.decode(DestinationStats.self, data)
        guard let current = stats.current else {
            return print("No measurements yet: agents report them after each backup and prune to this destination.")
        }
        Output.fields([
            ("Total size", Output.bytes(current.totalBytes)),
            ("Stored (deduplicated)", Output.bytes(current.storedBytes)),
            ("Growth", stats.storedBytesPerDay.map { "\($0 < 0 ? "-" : "")\(Output.bytes(abs($0))) per day" } ?? "less than a day of history"),
            ("Snapshots", "\(current.snapshotCount)"),
            ("Measurements", "\(stats.points.count) in \(days) days"),
        ])
        let rows = stats.points.suffix(10).map {
            [
                Output.date($0.measuredAt), $0.serverID, Output.bytes($0.stats.totalBytes), Output.bytes($0.stats.storedBytes),
                "\($0.stats.snapshotCount)",
            ]
        }
        Output.table(["MEASURED", "SERVER", "TOTAL", "STORED", "SNAPSHOTS"], rows)
    }
}
