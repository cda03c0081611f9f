import Agent
import ArgumentParser
import BackupCore
import Foundation
import ResticKit

/// `mzpanel-agent restore`: restore from this box's own repositories without the hub.
struct RestoreCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restore",
        abstract: "List or restore this server's snapshots directly from a destination, with the hub down.",
        discussion: """
            mzpanel-agent restore --destination nas --list
            mzpanel-agent restore 1a2b3c4d --destination nas --target /srv/restore [--include /var/www/site]
            mzpanel-agent restore 1a2b3c4d --destination nas --stack [--project NAME] [--project-dir DIR] [--overwrite]
            Restoring over existing files that differ needs --overwrite; --dry-run shows what would change.
            """
    )

    @Argument(help: ArgumentHelp("The restic snapshot id (see --list).", valueName: "SNAPSHOT"))
    var snapshot: String?

    @Option(help: ArgumentHelp("The destination (name or id) as this box knows it.", valueName: "NAME"))
    var destination: String

    @Flag(help: "List this server's snapshots at the destination.")
    var list = false

    @Option(help: ArgumentHelp("Restore below this directory (the original paths are kept under it); / restores in place.", valueName: "DIR"))
    var target: String?

    @Option(help: ArgumentHelp("Restore only this path of the snapshot (repeatable).", valueName: "PATH"))
    var include: [String] = []

    @Flag(help: "Restore the whole Docker stack this snapshot belongs to: project directory, volumes, databases, then docker-compose up.")
    var stack = false

    @Option(help: ArgumentHelp("With --stack: restore as this compose project (default: the one backed up).", valueName: "NAME"))
    var project: String?

    @Option(
        name: .customLong("project-dir"), help: ArgumentHelp("With --stack: the project directory (default: where it was).", valueName: "DIR"))
    var projectDirectory: String?

    @Flag(help: "Replace existing files that differ.")
    var overwrite = false

    @Flag(name: .customLong("dry-run"), help: "Only show what would be restored and replaced.")
    var dryRun = false

    @OptionGroup var stateOptions: StateOptions

    func validate() throws {
        if list && snapshot != nil { throw ValidationError("give either --list or a SNAPSHOT to restore") }
        if !list && snapshot == nil { throw ValidationError("give a SNAPSHOT to restore (see --list)") }
        if !list && !stack && target == nil { throw ValidationError("--target is required: a directory, or / to restore in place") }
        if !stack && (project != nil || projectDirectory != nil) { throw ValidationError("--project and --project-dir go with --stack") }
    }

    func run() async throws {
        let restore = OfflineRestore(state: stateOptions.state, log: RunLog(echo: stack))
        if list {
            let snapshots = try await restore.snapshots(destination: destination)
            if snapshots.isEmpty { print("no snapshots of this server at \(destination)") }
            for snapshot in snapshots {
                let source = snapshot.tags.first { $0.hasPrefix("source=") }.map { String($0.dropFirst(7)) } ?? "-"
                print(
                    "\(snapshot.shortID)  \(ISO8601DateFormatter().string(from: snapshot.time))  \(source)  \(snapshot.paths.joined(separator: " "))")
            }
            return
        }
        if stack {
            let restored = try await restore.restoreStack(
                snapshot: snapshot ?? "", destination: destination, project: project, projectDirectory: projectDirectory, overwrite: overwrite)
            print("restored stack \(restored); it is up (docker-compose -p \(restored) ps)")
            return
        }
        let preview = try await restore.restore(
            snapshot: snapshot ?? "", destination: destination, target: target ?? "/", includes: include,
            overwrite: overwrite, dryRun: dryRun
        ) { progress in
            let percent = Int((progress.percentDone * 100).rounded())
            FileHandle.standardError.write(Data("\rrestoring: \(percent)%  \(progress.bytesDone)/\(progress.totalBytes) bytes".utf8))
        }
        FileHandle.standardError.write(Data("\n".utf8))
        print(
            "\(dryRun ? "would restore" : "restored") \(preview.files) files (\(preview.bytes) bytes): \(preview.created) new, \(preview.replaced.count) replaced"
        )
        for path in preview.replaced.prefix(20) { print("  replace \(path)") }
    }
}

/// `mzpanel-agent restore-run RUN`: what the daemon starts for a restore the hub asked for.
struct RestoreRunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restore-run",
        abstract: "Run a restore the hub ordered (the daemon starts this; the order is in the state directory).",
        shouldDisplay: false
    )

    @Argument(help: ArgumentHelp("The restore run's id.", valueName: "RUN_ID"))
    var runID: String

    @OptionGroup var stateOptions: StateOptions

    func run() async throws {
        let run = try await Signals.runUntilTerminated { try await RestoreExecution(state: stateOptions.state).execute(runID: runID) }
        print("restore \(run.id): \(run.status.rawValue)" + (run.results.first?.error.map { " — \($0)" } ?? ""))
        if run.status != .succeeded { throw ExitCode(1) }
    }
}
