import BackupCore
import Foundation
import LinkProtocol
import ResticKit

/// One destination's copy of a run, under the box's lock of that repository: create the
/// repository if needed, clear stale locks, back up the paths (one snapshot) and each database
/// (one snapshot each, streamed), then apply the job's retention to this job's snapshots only.
struct DestinationCopy {
    let restic: Restic
    let repository: ResticRepository
    let destination: Destination
    let context: RunContext
    /// Why no backup may be written (a peer quota); retention still runs, to free space.
    var refusal: String?

    private var job: Job { context.job.job }
    private var host: String { context.identity.serverID }

    /// What one destination's copy produced.
    struct Outcome {
        var result: DestinationResult
        var filesNew: Int64 = 0
        /// restic snapshots that retention removed (full ids).
        var removedSnapshotIDs: [String] = []
    }

    func run() async -> Outcome {
        var outcome = Outcome(result: DestinationResult(destinationID: destination.id, status: .running))
        var result: DestinationResult {
            get { outcome.result }
            set { outcome.result = newValue }
        }
        let log = context.log
        do {
            let (summaries, failures, retention, stackContents) = try await RepositoryLock.withLock(
                directory: context.state.locksDirectory, repository: repository.location
            ) {
                let memory = RepositoryMemory(state: context.state)
                let remembered = memory.isKnownInitialized(repository)
                do {
                    return try await copyAndRetain(knownInitialized: remembered, memory: memory)
                } catch let error as ResticError where error.kind == .repositoryMissing && remembered {
                    // The repository was removed since the last run: create it again, as a first run does.
                    memory.forget(repository)
                    log("the repository remembered at \(repository.displayLocation) is gone; creating it again")
                    return try await copyAndRetain(knownInitialized: false, memory: memory)
                }
            }
            for summary in summaries {
                result.resticSnapshotIDs.append(summary.snapshotID)
                result.bytesAdded += Int64(summary.dataAdded)
                result.bytesProcessed += Int64(summary.totalBytesProcessed)
                outcome.filesNew += Int64(summary.filesNew)
            }
            outcome.removedSnapshotIDs = retention.removed
            result.stack = stackContents
            let retentionProblem = retention.problem
            if !summaries.isEmpty { result.repository = await measure() }
            if failures.isEmpty {
                result.status = .succeeded
                result.error = retentionProblem
            } else {
                result.status = .failed
                result.error = (failures + [retentionProblem].compactMap { $0 }).joined(separator: "; ")
            }
        } catch {
            result.status = .failed
            result.error = Self.words(error)
            log("failed: \(Self.words(error))")
            if let error = error as? ResticError, !error.detail.isEmpty { log(error.detail) }
        }
        return outcome
    }

    /// Everything done while holding the repository lock. Returns the snapshots made, the
    /// sources that failed (in words) and a retention problem, if any.
    /// With `knownInitialized` (an earlier run saw the repository), no restic process checks for it;
    /// a backup that then finds none throws `.repositoryMissing` before writing anything.
    private func copyAndRetain(knownInitialized: Bool, memory: RepositoryMemory) async throws
        -> ([ResticBackupSummary], [String], (problem: String?, removed: [String]), StackContents?)
    {
        let log = context.log
        log("destination \(destination.name) (\(destination.id)): repository \(repository.displayLocation)")
        // A repository created just now has no stale locks, nor has a local one with no lock file:
        // skip those restic processes (each one opens the repository, which costs a key derivation).
        var created = false
        if !knownInitialized {
            created = try await restic.initialize(repository)
            memory.rememberInitialized(repository)
        }
        if !created && StaleLocks.mayExist(in: repository) {
            do {
                try await restic.unlock(repository)
            } catch let error as ResticError {
                if error.kind == .repositoryMissing { throw error }
                log("could not clear stale restic locks: \(error.message)")
            }
        }
        var summaries: [ResticBackupSummary] = []
        var failures: [String] = []
        var stackContents: StackContents?
        if let refusal {
            log(refusal)
            return ([], [refusal], await applyRetention(), nil)
        }
        if job.kind == .full && !job.sources.paths.isEmpty {
            do {
                summaries.append(try await backupFiles())
            } catch {
                try Self.rethrowIfCancelled(error)
                try Self.rethrowIfRepositoryMissing(error, nothingWritten: summaries.isEmpty)
                failures.append("files: \(Self.words(error))")
                log("files failed: \(Self.words(error))")
            }
        }
        if let stack = job.sources.stack {
            do {
                let (made, contents) = try await backupStack(stack)
                summaries += made
                stackContents = contents
            } catch {
                try Self.rethrowIfCancelled(error)
                try Self.rethrowIfRepositoryMissing(error, nothingWritten: summaries.isEmpty)
                failures.append("stack \(stack.project): \(Self.words(error))")
                log("failed: stack \(stack.project): \(Self.words(error))")
            }
        }
        if job.kind == .hub {
            do {
                summaries.append(try await backupHub())
            } catch {
                try Self.rethrowIfCancelled(error)
                try Self.rethrowIfRepositoryMissing(error, nothingWritten: summaries.isEmpty)
                failures.append("hub: \(Self.words(error))")
                log("failed: hub: \(Self.words(error))")
            }
        }
        for database in job.sources.databases {
            do {
                summaries.append(try await backup(database))
            } catch {
                try Self.rethrowIfCancelled(error)
                try Self.rethrowIfRepositoryMissing(error, nothingWritten: summaries.isEmpty)
                let text = "database \(database.engine.rawValue) \(database.name): \(Self.words(error))"
                failures.append(text)
                log("failed: \(text)")
            }
        }
        if summaries.isEmpty && failures.isEmpty {
            failures.append("the job has nothing to back up (no paths for a full job, no databases); add sources to the job")
        }
        var retention: (problem: String?, removed: [String]) = (nil, [])
        if !summaries.isEmpty { retention = await applyRetention() }
        return (summaries, failures, retention, stackContents)
    }

    private func backupFiles() async throws -> ResticBackupSummary {
        context.log(
            "backing up \(job.sources.paths.count) path\(job.sources.paths.count == 1 ? "" : "s")"
                + (job.sources.excludes.isEmpty ? "" : " (\(job.sources.excludes.count) excludes)"))
        let missing = job.sources.paths.filter { !FileManager.default.fileExists(atPath: $0) }
        if !missing.isEmpty { context.log("missing paths (skipped by restic): \(missing.joined(separator: ", "))") }
        let summary = try await restic.backup(
            repository, paths: job.sources.paths, excludes: job.sources.excludes,
            tags: SnapshotTags.tags(jobID: job.id, runID: context.runID, source: "files"),
            host: host, progress: progressHandler(phase: "\(destination.name) files"))
        report(summary, what: "files")
        return summary
    }

    private func backup(_ database: DatabaseSource) async throws -> ResticBackupSummary {
        let dump = try DumpCommand.make(for: database)
        let filename = DumpCommand.filename(for: database)
        context.log("dumping \(database.engine.rawValue) \(database.name) with \((dump.executable as NSString).lastPathComponent) into \(filename)")
        let producer = ProducerCommand(
            executable: dump.executable, arguments: dump.arguments,
            environment: [OrphanProcesses.marker: context.runID])
        let summary = try await restic.backupStdin(
            repository, filename: filename,
            tags: SnapshotTags.tags(jobID: job.id, runID: context.runID, source: DumpCommand.sourceTag(for: database)),
            host: host, producer: producer,
            progress: progressHandler(phase: "\(destination.name) \(filename)"))
        report(summary, what: filename)
        return summary
    }

    /// The hub's own state (a `hub` job): `mzpanel admin backup --to -` streams the encrypted
    /// archive straight into `restic backup --stdin` (never a file here), with the data directory,
    /// program and passphrase file this box's administrator allowed (`mzpanel-agent hub-backup enable`).
    private func backupHub() async throws -> ResticBackupSummary {
        guard let settings = try context.state.loadHubBackup() else {
            throw AgentError(
                "this server has not allowed hub backups; on the hub's machine run `mzpanel-agent hub-backup enable --data-dir /var/lib/mzpanel --passphrase-file FILE` as root, or move the job to that server"
            )
        }
        context.log(
            "writing the hub's encrypted state (\(settings.dataDirectory)) with \(settings.program) admin backup into \(HubBackupSettings.filename)")
        var environment = try settings.hubEnvironment()
        environment[OrphanProcesses.marker] = context.runID
        let summary = try await restic.backupStdin(
            repository, filename: HubBackupSettings.filename,
            tags: SnapshotTags.tags(jobID: job.id, runID: context.runID, source: HubBackupSettings.sourceTag),
            host: host, producer: ProducerCommand(executable: settings.program, arguments: settings.archiveArguments(), environment: environment),
            progress: progressHandler(phase: "\(destination.name) \(HubBackupSettings.filename)"))
        report(summary, what: HubBackupSettings.filename)
        return summary
    }

    /// A stack (docs/stacks.md): each database dumped live from inside its container, then the
    /// project directory and named volumes in one snapshot, with the chosen services stopped only
    /// for that copy. All or nothing: when a part fails, the parts already written are forgotten.
    private func backupStack(_ source: StackSource) async throws -> ([ResticBackupSummary], StackContents) {
        let log: (String) -> Void = { context.log($0) }
        let docker = try DockerCLI.located()
        StoppedServices.repair(state: context.state, docker: docker, log: log)
        guard let stack = try StackDiscovery(docker: docker, measureVolumes: false).stacks(project: source.project).first else {
            throw AgentError("no Docker Compose project named \(source.project) runs on this server (docker ps finds none of its containers)")
        }
        let plan = try StackPlan.make(source, stack: stack, kind: job.kind)
        for note in plan.notes { log("stack \(plan.project): \(note)") }
        let stackTags = ["stack=\(plan.project)"]
        var made: [ResticBackupSummary] = []
        do {
            var environment = [OrphanProcesses.marker: context.runID]
            if let dockerHost = docker.environment["DOCKER_HOST"] { environment["DOCKER_HOST"] = dockerHost }
            for dump in plan.dumps {
                log("dumping \(dump.engine.rawValue) of service \(dump.service) from inside its container into \(dump.filename)")
                let summary = try await restic.backupStdin(
                    repository, filename: dump.filename,
                    tags: SnapshotTags.tags(jobID: job.id, runID: context.runID, source: "stack-\(dump.service)") + stackTags
                        + ["service=\(dump.service)"],
                    host: host,
                    producer: ProducerCommand(
                        executable: docker.executable, arguments: ["exec", "-i", dump.container, "sh", "-c", dump.script], environment: environment),
                    progress: progressHandler(phase: "\(destination.name) \(dump.filename)"))
                report(summary, what: dump.filename)
                made.append(summary)
            }
            if !plan.paths.isEmpty {
                let stopped = try StoppedServices.stop(plan.stop.map(\.container), docker: docker, state: context.state, log: log)
                defer { StoppedServices.start(stopped, docker: docker, state: context.state, log: log) }
                log(
                    "backing up stack \(plan.project): the project directory and \(plan.volumes.count) volume\(plan.volumes.count == 1 ? "" : "s")"
                        + (plan.binds.isEmpty ? "" : ", bind mounts \(plan.binds.joined(separator: ", "))"))
                let summary = try await restic.backup(
                    repository, paths: plan.paths, excludes: job.sources.excludes,
                    tags: SnapshotTags.tags(jobID: job.id, runID: context.runID, source: "stack-files") + stackTags
                        + plan.volumes.map { "volume=\($0)" }
                        + plan.databaseVolumes.map { "dbvolume=\($0)" } + plan.binds.map { "bind=\($0)" },
                    host: host, progress: progressHandler(phase: "\(destination.name) stack \(plan.project)"))
                report(summary, what: "stack \(plan.project) files")
                made.append(summary)
            }
        } catch {
            for summary in made { try? await restic.forgetSnapshot(repository, id: summary.snapshotID) }
            throw error
        }
        return (made, plan.contents)
    }

    /// `forget --tag job=<id> --host <server> --group-by host,paths --keep-…`: only this job's
    /// snapshots, one group per source. No `--prune`: the data they used is removed by the
    /// repository's scheduled prune (a `prune` job), so a backup never holds the exclusive lock.
    /// A failure keeps the copy (the data is safe) and returns what went wrong.
    private func applyRetention() async -> (problem: String?, removed: [String]) {
        let retention = job.retention(for: destination.id)
        guard !retention.keepAll, !retention.resticArguments.isEmpty else {
            context.log("retention: keeping every snapshot")
            return (nil, [])
        }
        // The storage server serves peer repositories append-only: a source cannot delete there
        // (so a compromised source cannot erase its history), and old snapshots stay.
        if destination.kind == .peer {
            context.log("retention: not applied at peer destination \(destination.name) (append-only); its quota bounds what is kept")
            return (nil, [])
        }
        do {
            let result = try await restic.forget(
                repository, tags: ["job=\(job.id)"], host: host, groupBy: "host,paths",
                keep: retention.resticArguments, prune: false)
            let removed = result.removedIDs
            context.log(
                "retention (\(retention.summary)): \(removed.count) snapshot\(removed.count == 1 ? "" : "s") removed"
                    + (removed.isEmpty ? "" : " (\(removed.map { String($0.prefix(8)) }.joined(separator: ", ")))") + ", \(result.keptIDs.count) kept"
            )
            return (nil, removed)
        } catch {
            let text = "the copy was made, but old snapshots were not removed: \(Self.words(error))"
            context.log(text)
            return (text, [])
        }
    }

    /// The repository's sizes and snapshot count after the copy, for the hub's statistics; nil
    /// (and a log line) when restic cannot tell: the copy stands either way.
    func measure() async -> RepositoryStats? {
        do {
            let stats = try await restic.stats(repository)
            context.log("repository: \(stats.rawDataSize) bytes stored (deduplicated), \(stats.totalSize) bytes in \(stats.snapshotCount) snapshots")
            return RepositoryStats(totalBytes: stats.totalSize, storedBytes: stats.rawDataSize, snapshotCount: stats.snapshotCount)
        } catch {
            context.log("the repository's statistics could not be read: \(Self.words(error))")
            return nil
        }
    }

    private func report(_ summary: ResticBackupSummary, what: String) {
        context.log(
            "\(what): snapshot \(summary.snapshotID.prefix(8)), \(summary.filesNew) new and \(summary.filesChanged) changed files, \(summary.dataAdded) bytes added of \(summary.totalBytesProcessed)"
        )
        for warning in summary.warnings.prefix(5) { context.log("warning: \(warning)") }
        if summary.warnings.count > 5 { context.log("… and \(summary.warnings.count - 5) more unreadable items") }
    }

    private func progressHandler(phase: String) -> @Sendable (ResticProgress) -> Void {
        let throttle = ProgressThrottle()
        let sink = context.progress
        return { progress in
            guard throttle.shouldPass(final: progress.isFinal) else { return }
            let converted = RunProgress(
                percentDone: progress.percentDone, filesDone: Int64(progress.filesDone), totalFiles: Int64(progress.totalFiles),
                bytesDone: Int64(progress.bytesDone), totalBytes: Int64(progress.totalBytes),
                secondsElapsed: Double(progress.secondsElapsed), secondsRemaining: progress.secondsRemaining.map(Double.init),
                phase: phase)
            Task { await sink(converted) }
        }
    }

    /// A cancelled run stops at once instead of trying the next source.
    static func rethrowIfCancelled(_ error: any Error) throws {
        if Task.isCancelled { throw error }
        if let error = error as? ResticError, error.kind == .interrupted { throw error }
    }

    /// A repository that is not there (any more) is created again by the caller, when this copy
    /// has written nothing yet; otherwise it is one source's failure like any other.
    static func rethrowIfRepositoryMissing(_ error: any Error, nothingWritten: Bool) throws {
        if nothingWritten, let error = error as? ResticError, error.kind == .repositoryMissing { throw error }
    }

    /// A failure in plain words (ResticError messages are already redacted).
    static func words(_ error: any Error) -> String {
        if let error = error as? ResticError {
            if error.kind == .interrupted {
                return "the run was stopped before this copy finished (the agent was asked to stop); the next run makes a new copy"
            }
            return error.message
        }
        return "\(error)"
    }
}

/// Lets one progress report through per second (and the final one), so no task is created per
/// restic status line.
final class ProgressThrottle: @unchecked Sendable {
    private let lock = NSLock()
    private var last = Date.distantPast

    func shouldPass(final: Bool) -> Bool {
        lock.withLock {
            let now = Date()
            guard final || now.timeIntervalSince(last) >= 1 else { return false }
            last = now
            return true
        }
    }
}
