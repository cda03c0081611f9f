import BackupCore
import Foundation
import LinkProtocol
import ResticKit

/// `mzpanel-agent restore-run RUN`: one restore the hub asked for, reported like a backup run
/// (started, progress, finished with the redacted log) through the outbox. The order comes from
/// the daemon in `restores/<run>.json` (0600) and is removed once the run is recorded.
public struct RestoreExecution: Sendable {
    public var state: AgentState
    public var log: RunLog
    public var clock: any HubClock

    public init(state: AgentState, log: RunLog = RunLog(), clock: any HubClock = SystemClock()) {
        self.state = state
        self.log = log
        self.clock = clock
    }

    public static func orderFile(_ state: AgentState, runID: String) -> String { state.directory + "/restores/\(runID).json" }

    /// Saves an order for the child process that runs it.
    public static func save(_ order: RestoreOrder, state: AgentState) throws {
        try SafeName.check(order.run.id, what: "run id")
        try SecureFile.makeDirectory(state.directory + "/restores")
        try SecureFile.write(try AgentState.encode(order), to: orderFile(state, runID: order.run.id))
    }

    public func execute(runID: String) async throws -> Run {
        try SafeName.check(runID, what: "run id")
        let file = Self.orderFile(state, runID: runID)
        guard let data = try SecureFile.read(file) else { throw AgentError("there is no restore order for run \(runID) in \(file)") }
        let order = try AgentState.decode(RestoreOrder.self, from: data, file: file)
        defer { SecureFile.remove(file) }
        guard let plan = order.plan else { throw AgentError("the order for run \(runID) has no restore plan") }
        let identity = try state.loadIdentity()
        let lifecycle = RunSession(
            state: state, link: try? HubLink(hubURL: identity.hubURL, credential: state.loadCredential(), trust: state.hubTrust, timeout: 10),
            log: log, clock: clock, deliveryTimeout: 10)
        var run = order.run
        run.startedAt = clock.now()
        run.results = [DestinationResult(destinationID: order.destination.id, status: .running)]
        let access = RepositoryAccess(
            identity: identity, state: state, runID: runID, destinationID: order.destination.id, envelope: order.envelope,
            peerCertificate: order.peerCertificate, repositoryServerID: plan.sourceServerID)
        let (finished, _) = try await lifecycle.perform(run) { progress in
            var result = DestinationResult(destinationID: order.destination.id, status: .failed)
            do {
                if let refused = ManifestTrust(state: state).refusal(forRestore: order.run, identity: identity) { throw AgentError(refused) }
                if plan.drill != nil {
                    let evidence = try await DrillExecution(state: state, identity: identity, runID: runID, log: log)
                        .perform(plan, destination: order.destination, access: access, progress: progress)
                    result.drill = evidence
                    result.bytesProcessed = evidence.restoredBytes
                    result.status = evidence.passed ? .succeeded : .failed
                    if !evidence.passed {
                        result.error =
                            "drill failed: "
                            + evidence.failures.prefix(3).map { $0.name + ($0.detail.map { " (\($0))" } ?? "") }.joined(separator: "; ")
                            + (evidence.failures.count > 3 ? "; and \(evidence.failures.count - 3) more" : "")
                    }
                    return result
                }
                result.bytesProcessed = try await perform(plan, destination: order.destination, access: access, progress: progress)
                result.status = .succeeded
            } catch {
                result.error = DestinationCopy.words(error)
                log("restore failed: \(result.error ?? "")")
            }
            return result
        } finish: { run, result in
            var result = result
            if let finished = run.finishedAt, let started = run.startedAt { result.durationSeconds = finished.timeIntervalSince(started) }
            run.results = [result]
            run.status = result.status == .succeeded ? .succeeded : .failed
            run.bytesProcessed = result.bytesProcessed
            return RunSession.Finish()
        }
        await lifecycle.deliver()
        return finished
    }

    /// Restores what the plan asks for; answers the bytes written.
    func perform(
        _ plan: RestorePlan, destination: Destination, access: RepositoryAccess,
        progress: @escaping @Sendable (RunProgress) async -> Void
    ) async throws -> Int64 {
        // The agent applies the plan's rules itself (literal includes, database names), whatever the hub checked.
        let plan = try plan.validated()
        let restic = try await Restic.detect()
        let repository = try await JobRunner.open(destination, access: access, restic: restic) { log($0) }
        log("restoring snapshot \(plan.snapshotID) of server \(plan.sourceServerID) from \(destination.name) (\(repository.displayLocation))")
        let snapshots = try await restic.snapshots(repository, tags: [], host: plan.sourceServerID).filter { snapshot in
            plan.resticSnapshotIDs.contains { $0.hasPrefix(snapshot.shortID) || snapshot.id.hasPrefix($0) }
        }
        var bytes: Int64 = 0
        if let stack = plan.stack {
            await progress(RunProgress(percentDone: 0, phase: plan.dryRun ? "checking the stack restore" : "restoring the stack"))
            guard !snapshots.isEmpty else {
                throw AgentError("snapshot \(plan.snapshotID) has no restic snapshots at \(destination.name) (this copy was pruned)")
            }
            let staging = state.directory + "/restore-staging-" + ResourceID.make(.run)
            defer { try? FileManager.default.removeItem(atPath: staging) }
            let log = log
            let project = try await StackRestore(
                restic: restic, repository: repository, docker: try DockerCLI.located(), log: { log($0) },
                step: { phase, done in await progress(RunProgress(percentDone: done, phase: phase)) }
            )
            .perform(
                snapshots,
                options: .init(
                    project: stack.project, projectDirectory: stack.projectDirectory, volumes: stack.volumes, databases: stack.databases,
                    overwrite: plan.overwrite, dryRun: plan.dryRun),
                staging: staging)
            log(plan.dryRun ? "dry run of the restore of stack \(project) done" : "stack \(project) restored")
            await progress(RunProgress(percentDone: 1, phase: "done"))
            return 0
        }
        if plan.files {
            guard let files = snapshots.first(where: { $0.tags.contains("source=files") }) else {
                throw AgentError(
                    "snapshot \(plan.snapshotID) has no files at \(destination.name) (its job backs up databases only, or this copy was pruned)")
            }
            let restore = FileRestore(
                restic: restic, repository: repository, snapshotID: files.id, target: plan.target ?? "/", includes: plan.includes, log: log)
            let preview = try await restore.perform(overwrite: plan.overwrite, dryRun: plan.dryRun, progress: progress)
            if !plan.dryRun { bytes += preview.bytes }
        }
        for database in plan.databases {
            let restorer = DatabaseRestorer(restore: database, overwrite: plan.overwrite, log: log)
            guard let dump = snapshots.first(where: { $0.tags.contains(restorer.sourceTag) }) else {
                throw AgentError(
                    "snapshot \(plan.snapshotID) has no dump of \(database.engine.rawValue) database \(database.name) at \(destination.name)")
            }
            if plan.dryRun {
                log("dry run: would restore \(database.engine.rawValue) \(database.name) into \(database.targetName)")
                continue
            }
            await progress(RunProgress(percentDone: 0, phase: "restoring \(database.engine.rawValue) \(database.targetName)"))
            try await restorer.load(restic: restic, repository: repository, snapshotID: dump.id)
            log("database \(database.targetName) restored")
        }
        await progress(RunProgress(percentDone: 1, bytesDone: bytes, totalBytes: bytes, phase: "done"))
        return bytes
    }
}
