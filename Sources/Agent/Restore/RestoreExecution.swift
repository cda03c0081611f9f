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

    public init(state: AgentState, log: RunLog = RunLog()) {
        self.state = state
        self.log = log
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
        let link = try? HubLink(hubURL: identity.hubURL, credential: state.loadCredential(), timeout: 10)
        var run = order.run
        let started = Date().wholeMilliseconds
        run.status = .running
        run.startedAt = started
        run.results = [DestinationResult(destinationID: order.destination.id, status: .running)]
        try state.outbox.append(AgentEvent(id: EventID.make(), kind: .runStarted, occurredAt: started, run: run))
        let announce = Task { await deliver(link) }
        let reporter = ProgressReporter(link: link)
        let runningRun = run
        let access = RepositoryAccess(identity: identity, state: state, runID: runID, destinationID: order.destination.id, envelope: order.envelope,
                                      peerCertificate: order.peerCertificate, repositoryServerID: plan.sourceServerID)
        var result = DestinationResult(destinationID: order.destination.id, status: .failed)
        do {
            let restored = try await perform(plan, destination: order.destination, access: access) { progress in
                await reporter.report(progress, run: runningRun)
            }
            result.status = .succeeded
            result.bytesProcessed = restored
        } catch {
            result.error = DestinationCopy.words(error)
            log("restore failed: \(result.error ?? "")")
        }
        await reporter.drain()
        await announce.value
        let finished = Date().wholeMilliseconds
        result.durationSeconds = finished.timeIntervalSince(started)
        run.results = [result]
        run.status = Task.isCancelled ? .cancelled : (result.status == .succeeded ? .succeeded : .failed)
        run.finishedAt = finished
        run.bytesProcessed = result.bytesProcessed
        run.logExcerpt = log.excerpt
        try state.outbox.append(AgentEvent(id: EventID.make(), kind: .runFinished, occurredAt: finished, run: run))
        await deliver(link)
        return run
    }

    /// Restores what the plan asks for; answers the bytes written.
    func perform(_ plan: RestorePlan, destination: Destination, access: RepositoryAccess,
                 progress: @escaping @Sendable (RunProgress) async -> Void) async throws -> Int64 {
        let restic = try await Restic.detect()
        let repository = try JobRunner.repository(of: destination, access: access)
        log("restoring snapshot \(plan.snapshotID) of server \(plan.sourceServerID) from \(destination.name) (\(repository.displayLocation))")
        let snapshots = try await restic.snapshots(repository, tags: [], host: plan.sourceServerID).filter { snapshot in
            plan.resticSnapshotIDs.contains { $0.hasPrefix(snapshot.shortID) || snapshot.id.hasPrefix($0) }
        }
        var bytes: Int64 = 0
        if plan.files {
            guard let files = snapshots.first(where: { $0.tags.contains("source=files") }) else {
                throw AgentError("snapshot \(plan.snapshotID) has no files at \(destination.name) (its job backs up databases only, or this copy was pruned)")
            }
            let restore = FileRestore(restic: restic, repository: repository, snapshotID: files.id, target: plan.target ?? "/", includes: plan.includes, log: log)
            let preview = try await restore.perform(overwrite: plan.overwrite, dryRun: plan.dryRun, progress: progress)
            if !plan.dryRun { bytes += preview.bytes }
        }
        for database in plan.databases {
            let restorer = DatabaseRestorer(restore: database, overwrite: plan.overwrite, log: log)
            guard let dump = snapshots.first(where: { $0.tags.contains(restorer.sourceTag) }) else {
                throw AgentError("snapshot \(plan.snapshotID) has no dump of \(database.engine.rawValue) database \(database.name) at \(destination.name)")
            }
            if plan.dryRun {
                log("dry run: would restore \(database.engine.rawValue) \(database.name) into \(database.targetName)")
                continue
            }
            await progress(RunProgress(percentDone: 0, phase: "restoring \(database.engine.rawValue) \(database.targetName)"))
            let consumer = try restorer.prepare()
            log("streaming \(restorer.dumpPath) into \(database.engine.rawValue) \(database.targetName)")
            try await restic.dump(repository, snapshotID: dump.id, path: restorer.dumpPath, into: consumer)
            log("database \(database.targetName) restored")
        }
        await progress(RunProgress(percentDone: 1, bytesDone: bytes, totalBytes: bytes, phase: "done"))
        return bytes
    }

    func deliver(_ link: HubLink?) async {
        await state.outbox.deliver(via: link, within: 10)
    }
}
