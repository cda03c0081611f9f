import ArgumentParser
import BackupCore
import Foundation
import HubAPI

/// `mzpanel jobs run JOB [--wait] [--json]`: queue a run and, with --wait, follow it live.
struct JobsRunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run", abstract: "Run a job now. With --wait, follow it with a progress bar until it ends.",
        discussion: "Exit status with --wait: 0 when every destination got its copy, 1 otherwise (partial, failed, interrupted)."
    )
    @Argument(help: "Job id or name.") var job: String
    @Option(name: .long, help: "The job's server, when several servers have a job of that name.") var server: String?
    @Flag(name: .long, help: "Wait for the run to finish, showing progress.") var wait = false
    @Option(name: .long, help: "Give up waiting after this many seconds (the run goes on).") var timeout: Int = 6 * 3600
    @OptionGroup var options: ClientOptions

    func run() async throws {
        let client = try options.client()
        let queued = try HubDecoding.decode(Run.self, try await client.raw("POST", "/api/v1/jobs/\(job.pathSegment)/run", query: ["server": server]))
        guard wait else {
            if options.json { return try Output.json(queued) }
            return print("Queued run \(queued.id). Follow it with: mzpanel runs show \(queued.id)")
        }
        let (detail, last) = try await RunFollower.follow(queued.id, client: client, timeout: timeout, json: options.json)
        if options.json {
            Output.json(last)
        } else {
            let run = detail.run
            print("Run \(run.id) \(run.status.rawValue): \(Output.bytes(run.bytesAdded)) added, \(Output.bytes(run.bytesProcessed)) processed.")
            for result in run.results {
                print("  \(result.destinationID): \(result.status.rawValue)" + (result.error.map { " — " + $0 } ?? ""))
            }
            if let snapshot = detail.snapshot {
                print("Snapshot \(snapshot.id) with \(snapshot.copies.count) cop\(snapshot.copies.count == 1 ? "y" : "ies").")
            }
        }
        if detail.run.status != .succeeded { throw CLIError("the run ended \(detail.run.status.rawValue)", exitCode: 1) }
    }
}

/// Follows a queued run until it ends, with the progress bar (run now and restores).
enum RunFollower {
    static func follow(_ runID: String, client: APIClient, timeout: Int, json: Bool) async throws -> (RunView, Data) {
        let bar = ProgressBar(enabled: !json && isatty(STDERR_FILENO) == 1)
        let deadline = Date().addingTimeInterval(TimeInterval(timeout))
        var last = Data()
        var detail: RunView
        var first = true
        repeat {
            // The hub answers at the run's next change (or after 25 s), so the bar moves with the run
            // and the command ends as soon as it does, without polling on a timer.
            last = try await client.raw("GET", "/api/v1/runs/\(runID)", query: ["wait": first ? nil : "25"])
            first = false
            detail = try HubDecoding.decode(RunView.self, last)
            bar.show(detail.run)
            if Date() > deadline {
                bar.finish()
                throw CLIError("gave up waiting after \(timeout) s; the run \(runID) goes on (mzpanel runs show \(runID))")
            }
        } while !detail.run.status.isFinished
        bar.finish()
        return (detail, last)
    }
}

/// A one-line terminal progress bar on stderr: percent, files, bytes, throughput, ETA.
final class ProgressBar {
    let enabled: Bool
    init(enabled: Bool) { self.enabled = enabled }

    func show(_ run: Run) {
        guard enabled else { return }
        let line: String
        if let phase = run.progress?.phase, run.progress?.waiting != nil {
            line = "run \(run.id): \(phase)…"
        } else if let progress = run.progress {
            let width = 24
            let filled = max(0, min(width, Int((progress.percentDone * Double(width)).rounded(.down))))
            let rate = progress.secondsElapsed > 0 ? Double(progress.bytesDone) / progress.secondsElapsed : 0
            let eta = progress.secondsRemaining.map { String(format: " ETA %d:%02d", Int($0) / 60, Int($0) % 60) } ?? ""
            line =
                "[" + String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled) + "]"
                + String(format: " %3.0f%%", progress.percentDone * 100)
                + " \(progress.filesDone)/\(progress.totalFiles) files \(Output.bytes(progress.bytesDone))/\(Output.bytes(progress.totalBytes))"
                + " \(Output.bytes(Int64(rate)))/s" + eta
        } else {
            line = "run \(run.status.rawValue)…"
        }
        FileHandle.standardError.write(Data(("\r\u{1B}[2K" + line).utf8))
    }

    func finish() {
        guard enabled else { return }
        FileHandle.standardError.write(Data("\r\u{1B}[2K".utf8))
    }
}
