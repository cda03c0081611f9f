import ArgumentParser
import BackupCore
import Foundation
import HubAPI

/// `mzpanel jobs copy JOB --from D1 --to D2 [--wait]`: the job's snapshots copied from one of its
/// destinations to another with `restic copy` (docs/operations.md, "Repository care").
struct JobsCopyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "copy",
        abstract: "Copy a job's snapshots from one of its destinations to another (restic copy; the data is read once, from the first).",
        discussion:
            "Both destinations must be destinations of the job; the target's repository is created with the source's chunker parameters. Exit status with --wait: 0 when the copy succeeded, 1 otherwise."
    )
    @Argument(help: "Job id or name.") var job: String
    @Option(name: .long, help: "The destination (id or name) holding the snapshots.") var from: String
    @Option(name: .long, help: "The destination (id or name) to copy them to.") var to: String
    @Option(name: .long, help: "The job's server, when several servers have a job of that name.") var server: String?
    @Flag(name: .long, help: "Wait for the copy to finish, showing progress.") var wait = false
    @Option(name: .long, help: "Give up waiting after this many seconds (the copy goes on).") var timeout: Int = 24 * 3600
    @OptionGroup var options: ClientOptions

    func run() async throws {
        let client = try options.client()
        let queued = try HubDecoding.decode(
            Run.self,
            try await client.raw("POST", "/api/v1/jobs/\(job.pathSegment)/copies", query: ["server": server], body: CopyRequest(from: from, to: to)))
        guard wait else {
            if options.json { return try Output.json(queued) }
            return print("Queued copy \(queued.id). Follow it with: mzpanel runs show \(queued.id)")
        }
        let (detail, last) = try await RunFollower.follow(queued.id, client: client, timeout: timeout, json: options.json)
        let run = detail.run
        if options.json {
            Output.json(last)
        } else {
            print("Copy \(run.id) \(run.status.rawValue).")
            for result in run.results {
                if let error = result.error {
                    print("  \(result.destinationID): \(error)")
                } else {
                    let count = result.copiedSnapshots?.count ?? 0
                    print("  \(result.destinationID) holds \(count) snapshot\(count == 1 ? "" : "s") of the job")
                }
            }
        }
        if run.status != .succeeded { throw CLIError("the copy ended \(run.status.rawValue)", exitCode: 1) }
    }
}
