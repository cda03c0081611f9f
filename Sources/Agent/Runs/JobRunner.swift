import BackupCore
import Foundation
import LinkProtocol
import ResticKit
import Sealing

/// The backup engine: for each destination of the job, one copy (files and each database) with
/// restic, then the job's retention. Destinations are done one after the other; one failing does
/// not stop the others (the run is then `partial`).
public struct JobRunner: BackupEngine {
    /// restic, or why it cannot be used (then every copy fails with that message).
    let restic: Result<Restic, ResticError>

    public init(restic: Result<Restic, ResticError>) {
        self.restic = restic
    }

    /// Finds restic and reads its version (remembered per binary in `state`, when given); a box
    /// without restic still gets a run that says so.
    public static func make(state: AgentState? = nil, log: RunLog? = nil) async -> JobRunner {
        do {
            var restic: Restic
            if let state {
                restic = try await KnownRestic.detect(state: state)
            } else {
                restic = try await Restic.detect()
            }
            // Every operation waits for another's restic lock (a prune's) up to the destination's lock wait.
            restic.retryLock = .seconds(RepositoryCare.defaultLockWaitSeconds)
            return JobRunner(restic: .success(restic))
        } catch let error as ResticError {
            return JobRunner(restic: .failure(error))
        } catch {
            return JobRunner(restic: .failure(ResticError(kind: .other, message: "restic could not be started: \(error)")))
        }
    }

    public func perform(_ context: RunContext) async -> EngineOutcome {
        if let plan = context.copy { return await RepositoryCopy(restic: restic, plan: plan, context: context).run() }
        let job = context.job.job
        var results: [DestinationResult] = []
        var filesNew: Int64 = 0
        var removed: [String: [String]] = [:]
        for destinationID in job.destinationIDs {
            let started = Date()
            var result: DestinationResult
            if Task.isCancelled {
                result = DestinationResult(destinationID: destinationID, status: .failed, error: "the run was cancelled before this copy started")
            } else if let destination = context.job.destinations.first(where: { $0.id == destinationID }) {
                let copied = await copy(to: destination, context)
                result = copied.result
                if result.status == .succeeded { filesNew = max(filesNew, copied.filesNew) }
                if !copied.removedSnapshotIDs.isEmpty { removed[destinationID] = copied.removedSnapshotIDs }
            } else {
                result = DestinationResult(
                    destinationID: destinationID, status: .failed,
                    error: "destination \(destinationID) is not in this agent's job list; it may have been deleted — check the job on the hub")
            }
            result.durationSeconds = Date().timeIntervalSince(started)
            context.log("destination \(destinationID): \(result.status.rawValue)" + (result.error.map { " — \($0)" } ?? ""))
            results.append(result)
        }
        if results.isEmpty {
            context.log("the job has no destination; add one on the hub")
        }
        let succeeded = results.filter { $0.status == .succeeded }
        return EngineOutcome(
            results: results,
            filesNew: filesNew,
            bytesAdded: results.reduce(0) { $0 + $1.bytesAdded },
            bytesProcessed: (succeeded.isEmpty ? results : succeeded).map(\.bytesProcessed).max() ?? 0,
            removedSnapshotIDs: removed
        )
    }

    /// One destination's part of the run: a backup copy, or a check or prune for those jobs.
    private func copy(to destination: Destination, _ context: RunContext) async -> DestinationCopy.Outcome {
        let failed = { (message: String) in
            DestinationCopy.Outcome(result: DestinationResult(destinationID: destination.id, status: .failed, error: message))
        }
        var restic: Restic
        switch self.restic {
        case .success(let found): restic = found
        case .failure(let error): return failed(error.message)
        }
        let lockWait = RepositoryCare.lockWait(destination.settings)
        restic.retryLock = lockWait > 0 ? .seconds(lockWait) : nil
        let repository: ResticRepository
        do {
            repository = try await Self.open(destination, access: RepositoryAccess(context), restic: restic) { context.log($0) }
        } catch let error as SealingError {
            context.log("destination \(destination.name): \(error.description)")
            return failed(error.description)
        } catch {
            return failed(DestinationCopy.words(error))
        }
        if context.job.job.kind == .check {
            return await RepositoryCheck(restic: restic, repository: repository, destination: destination, context: context).run()
        }
        if context.job.job.kind == .prune {
            return await RepositoryPrune(restic: restic, repository: repository, destination: destination, context: context).run()
        }
        var copy = DestinationCopy(restic: restic, repository: repository, destination: destination, context: context)
        if let usage = context.job.peerUsage?[destination.id], usage.isOver {
            copy.refusal =
                "this server stores \(usage.usedBytes) bytes on peer destination \(destination.name), over its quota of \(usage.quotaBytes); no new backup was made there (old snapshots were pruned by the job's retention). Raise the quota or keep fewer snapshots"
        }
        return await copy.run()
    }

    /// A server's repository, ready to use: opened as below, then (after `destinations rotate`)
    /// re-keyed to the credential's new password (`RepositoryKeys`).
    static func open(_ destination: Destination, access: RepositoryAccess, restic: Restic, log: (String) -> Void) async throws -> ResticRepository {
        let repository = try repository(of: destination, access: access)
        return try await RepositoryKeys.settle(
            repository, restic: restic, state: access.state, own: access.repositoryServerID == access.identity.serverID, log: log)
    }

    /// A server's repository at a destination — this server's, or (restoring) another's. Every
    /// backup, check, restore, listing and download opens it here, so a destination the account
    /// did not sign (while this box pinned its key) is refused in one place.
    static func repository(of destination: Destination, access: RepositoryAccess) throws -> ResticRepository {
        if let reason = ManifestTrust(state: access.state).refusal(for: destination, identity: access.identity) {
            throw AgentError("refused: \(reason)")
        }
        var repository: ResticRepository
        if destination.kind.isOffsite {
            repository = try OffsiteRepository.make(destination: destination, access: access)
        } else {
            guard let base = destination.settings.path, base.hasPrefix("/") else {
                throw AgentError("the local destination \(destination.name) has no absolute path; set its path on the hub")
            }
            repository = try LocalRepository.make(base: base, destination: destination, access: access)
        }
        return limited(repository, by: destination.settings, kind: destination.kind)
    }

    /// The destination's bandwidth limits (signed with its settings): restic's own for every
    /// kind, and rclone's time table for rclone remotes (RCLONE_BWLIMIT reaches the rclone restic starts).
    static func limited(_ repository: ResticRepository, by settings: DestinationSettings, kind: DestinationKind) -> ResticRepository {
        var repository = repository
        repository.limitUploadKiB = settings.limitUploadKiB
        repository.limitDownloadKiB = settings.limitDownloadKiB
        if kind == .rclone, let table = settings.bandwidthSchedule { repository.environment["RCLONE_BWLIMIT"] = table }
        return repository
    }
}

/// The restic repository of a local destination: `<path>/<server id>`, opened with the
/// agent-generated password file (0600) — which only that server has.
enum LocalRepository {
    static func make(base: String, destination: Destination, access context: RepositoryAccess) throws -> ResticRepository {
        guard context.repositoryServerID == context.identity.serverID else {
            throw AgentError(
                "the repository of server \(context.repositoryServerID) at the local destination \(destination.name) can only be opened by that server (its password never leaves it); restore on that server, or from an offsite copy"
            )
        }
        let trimmed = base.hasSuffix("/") && base.count > 1 ? String(base.dropLast()) : base
        let passwordFile = try context.state.repositoryPasswordFile(destinationID: destination.id)
        let cache = context.state.directory + "/cache"
        try SecureFile.makeDirectory(cache)
        return ResticRepository(
            location: trimmed + "/" + context.repositoryServerID,
            environment: [
                "RESTIC_PASSWORD_FILE": passwordFile,
                "RESTIC_CACHE_DIR": cache,
                "RESTIC_PROGRESS_FPS": "1",
                OrphanProcesses.marker: context.runID,
            ])
    }
}
