import ArgumentParser
import BackupCore
import Foundation
import HubAPI

/// `mzpanel destinations prune D [--server S] [--wait]`: run the destination's prune jobs now
/// (one per server whose repository there they clean), as `jobs run` does for each.
struct DestinationsPruneCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prune", abstract: "Prune the servers' repositories at a destination now (runs its prune jobs).",
        discussion: """
            Backups only forget old snapshots; a job of kind prune removes the data they used, on its \
            schedule (mzpanel jobs add prune-nas --server web-1 --kind prune --schedule weekly --destination nas). \
            This runs those jobs now. Exit status with --wait: 0 when every prune succeeded, 1 otherwise.
            """)
    @Argument(help: "Destination id or name.") var destination: String
    @Option(name: .long, help: "Only the repository of this server (id or name).") var server: String?
    @Flag(name: .long, help: "Wait for the prunes to finish.") var wait = false
    @Option(name: .long, help: "Give up waiting after this many seconds (the runs go on).") var timeout: Int = 6 * 3600
    @OptionGroup var options: ClientOptions

    func run() async throws {
        let client = try options.client()
        let list = try await client.send(
            "GET", "/api/v1/jobs", query: ["destination": destination, "server": server, "limit": "500"], as: JobList.self)
        let prunes = list.jobs.filter { $0.job.kind == .prune }
        guard !prunes.isEmpty else {
            throw CLIError(
                "no prune job cleans a repository at \(destination)\(server.map { " for server \($0)" } ?? ""); add one per server, e.g. mzpanel jobs add prune-\(destination) --server \(server ?? "S") --kind prune --schedule weekly --destination \(destination)"
            )
        }
        var runs: [Run] = []
        for view in prunes {
            runs.append(try await client.send("POST", "/api/v1/jobs/\(view.job.id)/run", as: Run.self))
        }
        guard wait else {
            if options.json { return try Output.json(runs) }
            for (view, run) in zip(prunes, runs) {
                print(
                    "Queued prune \(run.id) (job \(view.job.name) on \(view.serverName ?? view.job.serverID)). Follow it with: mzpanel runs show \(run.id)"
                )
            }
            return
        }
        var failed = 0
        var finished: [Run] = []
        for (view, queued) in zip(prunes, runs) {
            let (detail, _) = try await RunFollower.follow(queued.id, client: client, timeout: timeout, json: options.json)
            finished.append(detail.run)
            if detail.run.status != .succeeded { failed += 1 }
            if !options.json {
                print("Prune \(detail.run.id) (job \(view.job.name) on \(view.serverName ?? view.job.serverID)) \(detail.run.status.rawValue).")
                for result in detail.run.results {
                    print("  \(result.destinationID): \(result.status.rawValue)" + (result.error.map { " — " + $0 } ?? ""))
                }
            }
        }
        if options.json { try Output.json(finished) }
        if failed > 0 { throw CLIError("\(failed) of \(finished.count) prunes did not succeed", exitCode: 1) }
    }
}

/// `--max-unused`, `--max-repack-size` (restic prune's, for prune jobs) and `--lock-wait`.
struct RepositoryCareOptions: ParsableArguments {
    @Option(
        name: .customLong("max-unused"), help: "Prune jobs: unused data to leave, e.g. 5%, 2GiB or unlimited (restic --max-unused); off: restic's 5%."
    )
    var maxUnused: String?
    @Option(
        name: .customLong("max-repack-size"), help: "Prune jobs: most data one prune repacks, e.g. 2GiB (restic --max-repack-size); off removes it.")
    var maxRepackSize: String?
    @Option(name: .customLong("lock-wait"), help: "How long operations wait for another's repository lock, e.g. 10m, 90s or 0 (default 10m).")
    var lockWait: String?

    var anyGiven: Bool { maxUnused != nil || maxRepackSize != nil || lockWait != nil }

    func apply(to settings: inout DestinationSettings) throws {
        func cleared(_ text: String) -> String? {
            let trimmed = text.trimmingCharacters(in: .whitespaces)
            return trimmed.isEmpty || trimmed.lowercased() == "off" ? nil : trimmed
        }
        if let maxUnused { settings.pruneMaxUnused = cleared(maxUnused) }
        if let maxRepackSize { settings.pruneMaxRepackSize = cleared(maxRepackSize) }
        if let lockWait { settings.lockWaitSeconds = try Self.seconds(lockWait) }
    }

    /// `90s`, `10m`, `1h`, `600` (seconds).
    static func seconds(_ text: String) throws -> Int {
        let trimmed = text.trimmingCharacters(in: .whitespaces).lowercased()
        let factors: [Character: Int] = ["s": 1, "m": 60, "h": 3600]
        var number = Substring(trimmed)
        var factor = 1
        if let last = trimmed.last, let unit = factors[last] {
            number = number.dropLast()
            factor = unit
        }
        guard let value = Int(number), value >= 0 else {
            throw CLIError("--lock-wait \"\(text)\" is not a duration; give e.g. 10m, 90s, 1h or 0 (fail at once)")
        }
        return value * factor
    }
}
