import BackupCore
import Foundation
import LinkProtocol
import ResticKit

/// The snapshots a killed run left in its repositories. A run killed after restic saved a
/// snapshot leaves it tagged `run=<id>`; unreported, the hub would not list it while the job's
/// retention (`forget --keep-last`) counts it. The one rule, per destination of the run:
/// - every source of the job has its snapshot (files, each database): the copy is complete and is
///   reported with the interrupted run, as the run's snapshot (real data; retention runs next time);
/// - some sources are missing: the copy is incomplete and its snapshots are forgotten, as a failing
///   dump's partial copy is.
/// Snapshots that earlier runs on this box reported and restic no longer has were removed by the
/// killed run's retention (`forget --prune` under way): they are reported as pruned with it.
/// A repository that cannot be read now keeps its snapshots; the run is reported without them.
struct LeftoverSnapshots {
    let state: AgentState

    /// `reconcile` bounded in time. It runs while holding the box's interrupted-runs lock, which
    /// every run and the daemon take before they start: a restic call that never returns must not
    /// stop all backups on the box. Past `limit` the run is reported without its snapshots (and
    /// the lines logged so far), as when a repository cannot be read.
    func reconciled(_ event: AgentEvent, within limit: Duration, log: (String) -> Void) async -> AgentEvent {
        let lines = LineBuffer()
        let finished = await FirstOf.value(orAfter: limit) { [self] in
            var completed = event
            await reconcile(&completed) { lines.append($0) }
            return completed
        }
        lines.drain().forEach(log)
        guard let finished else {
            log("run \(event.run.id): looking for its snapshots took longer than \(limit); it is reported without them")
            return event
        }
        return finished
    }

    /// Completes the interrupted run's event with the complete copies its repositories hold.
    func reconcile(_ event: inout AgentEvent, log: (String) -> Void) async {
        let runID = event.run.id
        guard let jobs = try? state.loadJobs(), let agentJob = jobs.jobs.first(where: { $0.job.id == event.run.jobID }),
            !agentJob.job.kind.isMaintenance, let identity = try? state.loadIdentity()
        else { return }
        let job = agentJob.job
        let restic: Restic
        switch (await JobRunner.make(state: state)).restic {
        case .success(let found): restic = found
        case .failure(let error):
            log("could not look for snapshots of the interrupted run \(runID): \(error.message)")
            return
        }
        var expected = Set(job.sources.databases.map(DumpCommand.sourceTag(for:)))
        if job.kind == .full && !job.sources.paths.isEmpty { expected.insert("files") }
        let access = RepositoryAccess(
            identity: identity, state: state, runID: runID, envelopes: agentJob.envelopes, peerCertificates: agentJob.peerCertificates,
            repositoryServerID: identity.serverID)
        var run = event.run
        var pruned: [PrunedCopies] = []
        for destination in agentJob.destinations where job.destinationIDs.contains(destination.id) {
            do {
                let repository = try await JobRunner.open(destination, access: access, restic: restic, log: log)
                // The killed run's restic may have left its lock (an exclusive one while pruning): remove stale locks first.
                _ = try? await restic.unlock(repository)
                let all = try await restic.snapshots(repository, tags: ["job=\(job.id)"], host: identity.serverID)
                let existing = Set(all.map { String($0.id.prefix(8)) })
                // The killed run may have been pruning: what earlier runs on this box reported and restic no longer has.
                let gone = Set(
                    state.history.load().filter { $0.jobID == job.id && $0.id != runID }.flatMap { run in
                        run.results.filter { $0.destinationID == destination.id }.flatMap(\.resticSnapshotIDs)
                    }.filter { !existing.contains(String($0.prefix(8))) })
                if !gone.isEmpty {
                    pruned.append(PrunedCopies(destinationID: destination.id, resticSnapshotIDs: gone.sorted()))
                    log(
                        "run \(runID): \(gone.count) snapshot\(gone.count == 1 ? "" : "s") at \(destination.name) removed by its retention before it was killed are reported"
                    )
                }
                let found = all.filter { $0.tags.contains("run=\(runID)") }
                guard !found.isEmpty else { continue }
                let sources = Set(found.flatMap(\.tags).filter { $0.hasPrefix("source=") }.map { String($0.dropFirst("source=".count)) })
                if expected.isSubset(of: sources) {
                    let ids = found.map(\.id)
                    if let index = run.results.firstIndex(where: { $0.destinationID == destination.id }) {
                        run.results[index].status = .succeeded
                        run.results[index].resticSnapshotIDs = ids
                        run.results[index].error =
                            "the run was interrupted after this copy was saved; the copy is kept and old snapshots are removed at the next run"
                    }
                    log("run \(runID): the complete copy at \(destination.name) (\(ids.map { $0.prefix(8) }.joined(separator: ", "))) is reported")
                } else {
                    for snapshot in found { try await restic.forgetSnapshot(repository, id: snapshot.id) }
                    log(
                        "run \(runID): the incomplete copy at \(destination.name) (\(found.count) of \(expected.count) sources) was forgotten; the next run makes a new one"
                    )
                }
            } catch {
                log("could not look for snapshots of the interrupted run \(runID) at \(destination.name): \(DestinationCopy.words(error))")
            }
        }
        event.run = run
        event.pruned = pruned.isEmpty ? nil : pruned
        event.snapshot = RunExecution.snapshot(of: run, at: run.startedAt ?? run.createdAt)
    }
}
