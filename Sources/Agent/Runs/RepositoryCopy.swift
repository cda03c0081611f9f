import BackupCore
import Foundation
import LinkProtocol
import ResticKit

/// A copy run (docs/operations.md, "Repository care"): this server's repository at one of the job's
/// destinations copied into its repository at another with `restic copy`, for this job's snapshots
/// (`--tag job=<id> --host <server>`, as its backups are tagged) that the target does not hold yet.
/// The target is created with the source's chunker parameters, so the copies deduplicate there as
/// they did at the source. Both repositories are held under the box's repository locks (taken in
/// the order of their locations, so two copies in opposite directions cannot wait on each other).
/// Passwords and locations reach restic only through its environment (ResticKit's `copy`).
struct RepositoryCopy {
    let restic: Result<Restic, ResticError>
    let plan: CopyPlan
    let context: RunContext

    private var job: Job { context.job.job }

    func run() async -> EngineOutcome {
        let started = Date()
        var result = DestinationResult(destinationID: plan.to, status: .running, copiedFrom: plan.from)
        do {
            result = try await copy(result)
            result.status = .succeeded
        } catch {
            result.status = .failed
            result.error = "copy failed: " + DestinationCopy.words(error)
            context.log(result.error ?? "copy failed")
            if let error = error as? ResticError, !error.detail.isEmpty { context.log(error.detail) }
        }
        result.durationSeconds = Date().timeIntervalSince(started)
        context.log("destination \(plan.to): \(result.status.rawValue)" + (result.error.map { " — \($0)" } ?? ""))
        return EngineOutcome(results: [result])
    }

    private func destination(_ id: String, role: String) throws -> Destination {
        guard job.destinationIDs.contains(id), let destination = context.job.destinations.first(where: { $0.id == id }) else {
            throw AgentError(
                "destination \(id) (to copy \(role)) is not one of job \(job.name)'s destinations in this agent's job list; add it to the job on the hub and try again once the agent has synced"
            )
        }
        return destination
    }

    private func copy(_ result: DestinationResult) async throws -> DestinationResult {
        var result = result
        var restic = try self.restic.get()
        let source = try destination(plan.from, role: "from")
        let target = try destination(plan.to, role: "to")
        guard source.id != target.id else { throw AgentError("the copy's source and target are the same destination \(source.name)") }
        guard target.kind != .peer else {
            throw AgentError("peer destination \(target.name) is append-only for backups; it cannot be a copy's target")
        }
        let lockWait = max(RepositoryCare.lockWait(source.settings), RepositoryCare.lockWait(target.settings))
        restic.retryLock = lockWait > 0 ? .seconds(lockWait) : nil
        let log = context.log
        let access = RepositoryAccess(context)
        let from = try await JobRunner.open(source, access: access, restic: restic) { log($0) }
        let to = try await JobRunner.open(target, access: access, restic: restic) { log($0) }
        log("copying job \(job.name)'s snapshots from \(source.name) (\(from.displayLocation)) to \(target.name) (\(to.displayLocation))")
        await context.progress(
            RunProgress(
                percentDone: 0, filesDone: 0, totalFiles: 0, bytesDone: 0, totalBytes: 0, secondsElapsed: 0, secondsRemaining: nil,
                phase: "copying \(source.name) → \(target.name)"))
        let host = context.identity.serverID
        let locations = [from.location, to.location].sorted()
        let copied = try await RepositoryLock.withLock(directory: context.state.locksDirectory, repository: locations[0]) {
            try await RepositoryLock.withLock(directory: context.state.locksDirectory, repository: locations[1]) {
                guard try await restic.isInitialized(from) else {
                    throw AgentError("there is no repository for this server at \(source.name) yet; run the job's backup there first")
                }
                if try await restic.initialize(to, copyingChunkerParametersFrom: from) {
                    log("created the repository at \(target.name) with the chunker parameters of \(source.name)")
                    RepositoryMemory(state: context.state).rememberInitialized(to)
                }
                // restic prints a line per snapshot it copies: into the run's log, which the watchdog counts as progress.
                return try await restic.copy(from: from, to: to, tags: ["job=\(job.id)"], host: host) { line in
                    let text = line.trimmingCharacters(in: .whitespaces)
                    if !text.isEmpty { log("restic: " + text) }
                }
            }
        }
        var byRun: [String: [String]] = [:]
        var order: [String] = []
        for snapshot in copied.sorted(by: { $0.time < $1.time }) {
            guard let tag = snapshot.tags.first(where: { $0.hasPrefix("run=") }) else { continue }
            let runID = String(tag.dropFirst(4))
            if byRun[runID] == nil { order.append(runID) }
            byRun[runID, default: []].append(snapshot.id)
        }
        result.copiedSnapshots = order.map { CopiedSnapshot(runID: $0, resticSnapshotIDs: byRun[$0] ?? []) }
        result.resticSnapshotIDs = copied.map(\.id)
        log(
            "\(target.name) holds \(copied.count) restic snapshot\(copied.count == 1 ? "" : "s") of job \(job.name) after the copy (\(order.count) run\(order.count == 1 ? "" : "s"))"
        )
        result.repository = await DestinationCopy(restic: restic, repository: to, destination: target, context: context).measure()
        return result
    }
}
