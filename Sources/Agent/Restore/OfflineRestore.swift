import BackupCore
import Foundation
import LinkProtocol
import ResticKit

/// `mzpanel-agent restore` with no hub: the destinations (and sealed credentials) this box last
/// received in `jobs.json`, its own repositories, restic directly. Lists snapshots, restores one.
public struct OfflineRestore: Sendable {
    public let state: AgentState
    public let log: RunLog

    public init(state: AgentState, log: RunLog) {
        self.state = state
        self.log = log
    }

    /// The destinations this box knows, by name.
    public func destinations() throws -> [Destination] {
        guard let jobs = try state.loadJobs() else {
            throw AgentError("no jobs.json yet in \(state.directory): this box has not received its jobs from the hub, so it knows no destination")
        }
        var seen: [String: Destination] = [:]
        for job in jobs.jobs { for destination in job.destinations { seen[destination.id] = destination } }
        return seen.values.sorted { $0.name < $1.name }
    }

    /// This server's snapshots at a destination, oldest first.
    public func snapshots(destination reference: String) async throws -> [ResticSnapshot] {
        let (restic, repository) = try await open(reference)
        let identity = try state.loadIdentity()
        return try await restic.snapshots(repository, tags: ["mzpanel"], host: identity.serverID)
    }

    /// Restores the files of one restic snapshot below `target` (a dry run first; existing files
    /// that differ need `overwrite`).
    public func restore(
        snapshot: String, destination reference: String, target: String, includes: [String], overwrite: Bool, dryRun: Bool,
        progress: @escaping @Sendable (RunProgress) async -> Void
    ) async throws -> FilePreview {
        let plan = try RestorePlan(
            snapshotID: snapshot, sourceServerID: "", destinationID: "", resticSnapshotIDs: [], files: true, target: target,
            includes: includes, databases: [], overwrite: overwrite, dryRun: dryRun
        ).validated()
        let (restic, repository) = try await open(reference)
        let restore = FileRestore(
            restic: restic, repository: repository, snapshotID: snapshot, target: plan.target ?? "/", includes: plan.includes, log: log)
        let preview = try await restore.perform(overwrite: overwrite, dryRun: dryRun, progress: progress)
        return FilePreview(files: preview.files, bytes: preview.bytes, created: preview.created, replaced: preview.replaced)
    }

    /// Restores the whole stack that `snapshot` (any restic snapshot of a stack run) belongs to
    /// (docs/stacks.md): project directory, volumes with their compose labels, dumps loaded, stack up.
    /// Answers the project name restored.
    public func restoreStack(
        snapshot: String, destination reference: String, project: String?, projectDirectory: String?, overwrite: Bool
    ) async throws -> String {
        let (restic, repository) = try await open(reference)
        let identity = try state.loadIdentity()
        let all = try await restic.snapshots(repository, tags: ["mzpanel"], host: identity.serverID)
        guard let chosen = all.first(where: { $0.id == snapshot || $0.shortID == snapshot || $0.id.hasPrefix(snapshot) }),
            let run = chosen.tags.first(where: { $0.hasPrefix("run=") }), let stack = chosen.tags.first(where: { $0.hasPrefix("stack=") })
        else {
            throw AgentError("snapshot \(snapshot) is not a stack snapshot of this server at \(reference) (see --list)")
        }
        let siblings = all.filter { $0.tags.contains(run) && $0.tags.contains(stack) }
        let staging = state.directory + "/restore-staging-" + ResourceID.make(.run)
        defer { try? FileManager.default.removeItem(atPath: staging) }
        let log = log
        return try await StackRestore(restic: restic, repository: repository, docker: try DockerCLI.located(), log: { log($0) }).perform(
            siblings, options: .init(project: project, projectDirectory: projectDirectory, overwrite: overwrite), staging: staging)
    }

    /// What a restore does (or would do) to the target.
    public struct FilePreview: Sendable {
        public var files: Int
        public var bytes: Int64
        public var created: Int
        public var replaced: [String]
    }

    private func open(_ reference: String) async throws -> (Restic, ResticRepository) {
        let known = try destinations()
        guard let destination = known.first(where: { $0.id == reference || $0.name == reference }) else {
            throw AgentError("this box knows no destination \"\(reference)\"; it knows: \(known.map(\.name).joined(separator: ", "))")
        }
        let identity = try state.loadIdentity()
        let jobs = try state.loadJobs()?.jobs ?? []
        var certificates: [String: String] = [:]
        for job in jobs { certificates.merge(job.peerCertificates ?? [:]) { first, _ in first } }
        let access = RepositoryAccess(
            identity: identity, state: state, runID: "offline-restore", envelopes: jobs.flatMap(\.envelopes),
            peerCertificates: certificates, repositoryServerID: identity.serverID)
        let restic = try await Restic.detect()
        return (restic, try await JobRunner.open(destination, access: access, restic: restic) { log($0) })
    }
}
