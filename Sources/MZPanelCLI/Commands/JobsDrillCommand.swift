import ArgumentParser
import BackupCore
import Foundation
import HubAPI

/// `mzpanel jobs drill JOB [--server S] [--sample 2%|50] [--sql "…"] --wait`: a restore drill of
/// the job's newest snapshot (docs/operations.md, "Restore drills").
struct JobsDrillCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "drill",
        abstract:
            "Prove a job restores: a random sample of its newest snapshot's files and every dump restored into scratch places, checked, removed.",
        discussion: "Exit status with --wait: 0 when every check passed, 1 otherwise (the failed checks are listed, each damaged file by name)."
    )
    @Argument(help: "Job id or name.") var job: String
    @Option(name: .long, help: "Drill on this server (default: the job's own; another server needs an offsite copy sealed to it).")
    var server: String?
    @Option(name: .customLong("job-server"), help: "The job's server, when several servers have a job of that name.") var jobServer: String?
    @Option(name: .long, help: "Which copy to drill (destination id or name; default: the first).") var destination: String?
    @Option(name: .long, help: "How much to restore: a number of files (50) or a share of the bytes (2%); default: the job's, else 20 files.")
    var sample: String?
    @Option(name: .customLong("sql"), help: "An SQL assertion for each database loaded, e.g. \"SELECT count(*) FROM orders >= 10\" (repeatable).")
    var sql: [String] = []
    @Flag(name: .long, help: "Wait for the drill to finish, showing progress.") var wait = false
    @Option(name: .long, help: "Give up waiting after this many seconds (the drill goes on).") var timeout: Int = 6 * 3600
    @OptionGroup var options: ClientOptions

    func run() async throws {
        let client = try options.client()
        let body = DrillRequest(server: server, destination: destination, sample: sample, assertions: sql.isEmpty ? nil : sql)
        let queued = try HubDecoding.decode(
            Run.self, try await client.raw("POST", "/api/v1/jobs/\(job.pathSegment)/drills", query: ["server": jobServer], body: body))
        guard wait else {
            if options.json { return try Output.json(queued) }
            if queued.signature?.state == .awaiting {
                return print("Drill \(queued.id) waits for a signature (it goes to another server): mzpanel runs sign \(queued.id)")
            }
            return print("Queued drill \(queued.id). Follow it with: mzpanel runs show \(queued.id)")
        }
        let (detail, last) = try await RunFollower.follow(queued.id, client: client, timeout: timeout, json: options.json)
        let run = detail.run
        if options.json {
            Output.json(last)
        } else {
            print("Drill \(run.id) \(run.status.rawValue == "succeeded" ? "passed" : run.status.rawValue).")
            for result in run.results {
                if let evidence = result.drill {
                    Self.describe(evidence)
                } else if let error = result.error {
                    print("  \(result.destinationID): \(error)")
                }
            }
        }
        if run.status != .succeeded { throw CLIError("the drill ended \(run.status.rawValue)", exitCode: 1) }
    }

    static func describe(_ evidence: DrillEvidence) {
        print(
            "Restored \(evidence.restoredFiles) of \(evidence.snapshotFiles) files (\(Output.bytes(evidence.restoredBytes)) of \(Output.bytes(evidence.snapshotBytes)))"
                + String(format: " in %.1f s", evidence.restoreSeconds)
                + (evidence.throughput.map { ", \(Output.bytes(Int64($0)))/s" } ?? "") + (evidence.estimateText.map { "; this job \($0)" } ?? "")
                + ".")
        for database in evidence.databases {
            print(
                "  \(database.engine.rawValue) \(database.name): " + (database.loaded ? "loaded" : "did not load")
                    + (database.tables.map { ", \($0) tables" } ?? "")
                    + (database.rows.map { ", \($0.values.reduce(0, +)) rows" } ?? ""))
        }
        for check in evidence.checks {
            print("  [\(check.passed ? "pass" : "FAIL")] \(check.name)" + (check.detail.map { " — \($0)" } ?? ""))
        }
    }
}
