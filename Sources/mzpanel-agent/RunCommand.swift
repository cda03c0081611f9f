import Agent
import ArgumentParser
import BackupCore
import Foundation
import HubAPI
import LinkProtocol
import Logging

struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a job now (what its timer calls). Works with the hub down; results wait in the outbox."
    )

    @Argument(help: ArgumentHelp("The job's id (see `mzpanel-agent status`).", valueName: "JOB_ID"))
    var jobID: String

    @Option(help: ArgumentHelp("What started the run: timer, manual or hub.", valueName: "TRIGGER"))
    var trigger: String = "manual"

    @Option(name: .customLong("run-id"), help: ArgumentHelp("The run's id when the hub created it.", valueName: "ID"))
    var runID: String?

    @Option(help: ArgumentHelp("The scheduled slot this run serves (ISO-8601); a slot runs once.", valueName: "ISO"))
    var slot: String?

    @Option(
        name: .customLong("stall-limit"),
        help: ArgumentHelp(
            "End the run when it makes no progress for this many seconds (default: the job's limit, 30 minutes for backups).",
            valueName: "SECONDS"))
    var stallLimit: Int?

    @Option(
        name: .customLong("copy-from"),
        help: ArgumentHelp("With --trigger copy: the destination id to copy the job's snapshots from.", valueName: "ID"))
    var copyFrom: String?

    @Option(name: .customLong("copy-to"), help: ArgumentHelp("With --trigger copy: the destination id to copy them to.", valueName: "ID"))
    var copyTo: String?

    @OptionGroup var stateOptions: StateOptions

    func validate() throws {
        guard let parsed = RunTrigger(rawValue: trigger) else {
            throw ValidationError("--trigger must be timer, manual, hub or copy, not \"\(trigger)\"")
        }
        if (parsed == .copy) != (copyFrom != nil && copyTo != nil) || (copyFrom == nil) != (copyTo == nil) {
            throw ValidationError("--trigger copy goes with both --copy-from and --copy-to (destination ids), and they only with it")
        }
        if parsed == .hub && slot == nil && runID == nil { throw ValidationError("--trigger hub needs --slot or --run-id") }
        if let stallLimit, stallLimit < 1 { throw ValidationError("--stall-limit must be at least 1 second") }
        if let slot, HubJSON.parse(slot) == nil { throw ValidationError("--slot \"\(slot)\" is not an ISO-8601 time such as 2026-01-31T02:30:00Z") }
    }

    func run() async throws {
        let state = stateOptions.state
        let log = RunLog(logger: Logger(label: "mzpanel-agent.run"))
        var configured = RunExecution(state: state, engine: await JobRunner.make(state: state, log: log), log: log)
        configured.stallLimit = stallLimit.map { .seconds($0) }
        let execution = configured
        let request = RunExecution.Request(
            jobID: jobID, trigger: RunTrigger(rawValue: trigger) ?? .manual, runID: runID,
            slot: slot.flatMap(HubJSON.parse), copy: copyFrom.flatMap { from in copyTo.map { CopyPlan(from: from, to: $0) } })
        let outcome = try await Signals.runUntilTerminated { try await execution.execute(request) }
        switch outcome {
        case .slotAlreadyRan(let slot):
            print("slot already ran: job \(jobID) slot \(HubJSON.format(slot)) has its run; nothing to do")
        case .skipped(let reason):
            print("skipped: \(reason)")
        case .finished(let run, let snapshot):
            print("run \(run.id): \(run.status.rawValue)" + (snapshot.map { ", snapshot \($0.id)" } ?? ""))
            for result in run.results {
                print("  \(result.destinationID): \(result.status.rawValue)" + (result.error.map { " — \($0)" } ?? ""))
            }
            if run.status != .succeeded { throw ExitCode(1) }
        }
    }
}
