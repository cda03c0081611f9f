import BackupCore
import Foundation
import LinkProtocol
import ResticKit

/// A prune job's work on one destination (docs/operations.md, "Repository care"): `restic prune`
/// of this server's repository there, with the destination's `--max-unused` and `--max-repack-size`.
/// Backups only forget; the data their forgotten snapshots used is removed here, apart from them.
/// It holds restic's exclusive lock, not the box's repository lock: a backup that starts meanwhile
/// waits for restic's lock up to the destination's lock wait, and so does this prune for a backup.
struct RepositoryPrune {
    let restic: Restic
    let repository: ResticRepository
    let destination: Destination
    let context: RunContext

    func run() async -> DestinationCopy.Outcome {
        var result = DestinationResult(destinationID: destination.id, status: .running)
        let log = context.log
        guard destination.kind != .peer else {
            result.status = .skipped
            log("destination \(destination.name): not pruned (a peer repository is append-only for this server; its storage server keeps it)")
            return DestinationCopy.Outcome(result: result)
        }
        do {
            log("destination \(destination.name) (\(destination.id)): pruning repository \(repository.displayLocation)")
            guard try await restic.isInitialized(repository) else {
                throw AgentError("there is no repository for this server at \(destination.name) yet; run a backup job to it first")
            }
            let settings = destination.settings
            log(
                "restic prune --max-unused \(settings.pruneMaxUnused ?? "5% (restic's default)")"
                    + (settings.pruneMaxRepackSize.map { " --max-repack-size \($0)" } ?? "")
                    + ", waiting up to \(RepositoryCare.lockWait(settings)) s for another operation's lock")
            let pruned = try await restic.prune(repository, maxUnused: settings.pruneMaxUnused, maxRepackSize: settings.pruneMaxRepackSize)
            for line in pruned.report { log(line) }
            if let after = try? await restic.stats(repository) {
                log("repository after the prune: \(after.rawDataSize) bytes in its \(after.snapshotCount) snapshots (deduplicated)")
                result.repository = RepositoryStats(totalBytes: after.totalSize, storedBytes: after.rawDataSize, snapshotCount: after.snapshotCount)
            }
            result.status = .succeeded
        } catch {
            result.status = .failed
            result.error = "prune failed: " + DestinationCopy.words(error)
            log(result.error ?? "prune failed")
        }
        return DestinationCopy.Outcome(result: result)
    }
}
