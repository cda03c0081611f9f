import BackupCore
import Foundation
import LinkProtocol
import ResticKit

/// A check job's work on one destination: `restic check --read-data-subset n/t` on this server's
/// repository there, under the box's lock of that repository. `n` moves on by one each run (kept
/// per job and destination in the agent's state), so every `t` runs read all pack data once.
struct RepositoryCheck {
    let restic: Restic
    let repository: ResticRepository
    let destination: Destination
    let context: RunContext

    func run() async -> DestinationCopy.Outcome {
        var result = DestinationResult(destinationID: destination.id, status: .running)
        let log = context.log
        let subsets = max(1, context.job.job.checkSubsets ?? Job.defaultCheckSubsets)
        do {
            let (part, checked) = try await RepositoryLock.withLock(directory: context.state.locksDirectory, repository: repository.location) {
                log("destination \(destination.name) (\(destination.id)): checking repository \(repository.displayLocation)")
                guard try await restic.isInitialized(repository) else {
                    throw AgentError("there is no repository for this server at \(destination.name) yet; run a backup job to it first")
                }
                let part = try rotation.next(of: subsets)
                log("reading data part \(part) of \(subsets)")
                let checked = try await restic.check(repository, readDataSubset: "\(part)/\(subsets)")
                try rotation.record(part)
                return (part, checked)
            }
            if checked.isHealthy {
                result.status = .succeeded
                log("no errors (structure, and data part \(part)/\(subsets))")
            } else {
                result.status = .failed
                var words = "restic check found errors in the repository at \(destination.name) (data part \(part)/\(subsets)): "
                words += checked.errors.prefix(5).joined(separator: "; ")
                if !checked.brokenPacks.isEmpty { words += "; damaged pack files: " + checked.brokenPacks.prefix(5).joined(separator: ", ") }
                result.error = words
                log(words)
            }
        } catch {
            result.status = .failed
            result.error = DestinationCopy.words(error)
            log("check failed: \(DestinationCopy.words(error))")
        }
        return DestinationCopy.Outcome(result: result)
    }

    private var rotation: CheckRotation {
        CheckRotation(file: context.state.directory + "/checks/\(context.job.job.id)-\(destination.id)")
    }
}

/// Which data part a check job read last at one destination (a number in a 0600 file).
struct CheckRotation {
    let file: String

    /// The part after the last one read, wrapping to 1 after `subsets`; 1 the first time.
    func next(of subsets: Int) throws -> Int {
        let last = try SecureFile.read(file).flatMap { Int(String(decoding: $0, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)) } ?? 0
        return last % subsets + 1
    }

    func record(_ part: Int) throws {
        try SecureFile.makeDirectory((file as NSString).deletingLastPathComponent)
        try SecureFile.write(Data("\(part)\n".utf8), to: file)
    }
}
