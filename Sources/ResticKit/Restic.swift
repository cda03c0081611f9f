import Foundation
import Redaction

/// The agent's adapter for the restic CLI of one installed version.
///
/// Every method runs restic once (or twice, where said), with `--json` where restic supports it,
/// the repository as `--repo` (or as RESTIC_REPOSITORY when its location holds credentials),
/// secrets only in restic's environment, and an environment built from PATH and HOME plus the
/// repository's variables. Cancelling the calling task stops restic and throws `.interrupted`.
/// Methods do not serialize themselves: wrap a run in `RepositoryLock.withLock` for that.
public struct Restic: Sendable {
    /// The absolute path of the restic executable.
    public let executablePath: String
    public let version: ResticVersion
    /// How long restic gets to exit (and remove its lock) after SIGINT before it is killed.
    public var interruptGracePeriod: Duration
    /// Wait up to this long for a lock held by another restic: restic's own `--retry-lock` from
    /// 0.16, a retry every 2 s before (except for commands fed on standard input).
    /// nil (the default) fails at once with `.locked`.
    public var retryLock: Duration?
    /// With restic 0.17+, let restic run the producer of `backupStdin` itself (`--stdin-from-command`).
    /// When false, or on older versions, the producer is piped into `restic backup --stdin`.
    public var prefersStdinFromCommand: Bool

    public init(
        executablePath: String,
        version: ResticVersion,
        interruptGracePeriod: Duration = .seconds(10),
        retryLock: Duration? = nil,
        prefersStdinFromCommand: Bool = true
    ) {
        self.executablePath = executablePath
        self.version = version
        self.interruptGracePeriod = interruptGracePeriod
        self.retryLock = retryLock
        self.prefersStdinFromCommand = prefersStdinFromCommand
    }

    /// Finds restic (a path, or a name looked up in PATH) and reads its version with `restic version`.
    public static func detect(executable: String = "restic") async throws -> Restic {
        guard let path = ExecutableLookup.resolve(executable) else {
            throw ResticError(
                kind: .notInstalled,
                message: "restic is not installed: no executable \"\(executable)\" was found (install the restic package)"
            )
        }
        if Task.isCancelled { throw ResticError.interrupted("detecting restic") }
        let running = RunningCommand(
            executable: path,
            arguments: ["version"],
            environment: ExecutableLookup.baseEnvironment(),
            stdout: OutputReader(keepAllLimit: 64 * 1024),
            stderr: OutputReader(tailLimit: 16 * 1024)
        )
        let termination: Termination? = try await withTaskCancellationHandler {
            guard try await running.start() else { return nil }
            return await running.waitForEnd()
        } onCancel: {
            running.child.stop(grace: .seconds(2))
        }
        guard let termination, !running.child.wasStopped else { throw ResticError.interrupted("detecting restic") }
        let text = running.stdout.allText
        guard termination.succeeded, let version = ResticVersion(parsing: text) else {
            let shown = ResticErrorClassifier.shorten(text.isEmpty ? running.stderr.tailText : text)
            throw ResticError(
                kind: .notInstalled,
                exitCode: termination.signaled ? nil : termination.status,
                message: "\(path) does not look like a working restic (restic version \(termination.summary): \(shown))"
            )
        }
        return Restic(executablePath: path, version: version)
    }

    // MARK: Repository

    /// True when a repository exists at the location (`restic cat config`); false when restic says
    /// there is none. Any other failure (wrong password, unreachable…) is thrown.
    public func isInitialized(_ repository: ResticRepository) async throws -> Bool {
        let operation = "checking the repository"
        let output = try await run(repository, ["cat", "config"], json: false, noLock: true)
        if output.succeeded { return true }
        let error = failure(output, repository, operation: operation)
        if error.kind == .repositoryMissing { return false }
        throw error
    }

    /// Creates the repository unless it exists already (idempotent, also when another process
    /// creates it at the same moment).
    /// Returns true when this call created the repository (a new repository has no stale locks).
    @discardableResult
    public func initialize(_ repository: ResticRepository) async throws -> Bool {
        if try await isInitialized(repository) { return false }
        let output = try await run(repository, ["init"])
        if output.succeeded { return true }
        let lower = output.stderr.lowercased()
        if lower.contains("config file already exists") || lower.contains("already initialized") {
            return false
        }
        throw failure(output, repository, operation: "creating the repository")
    }

    // MARK: Snapshots

    /// The snapshots carrying all of `tags` (all snapshots when empty), optionally of one host, oldest first.
    public func snapshots(_ repository: ResticRepository, tags: [String], host: String? = nil) async throws -> [ResticSnapshot] {
        try ArgumentCheck.tags(tags)
        var command = ["snapshots"]
        if !tags.isEmpty { command.append("--tag=\(tags.joined(separator: ","))") }
        if let host {
            try ArgumentCheck.host(host)
            command.append("--host=\(host)")
        }
        let output = try await run(repository, command)
        guard output.succeeded else { throw failure(output, repository, operation: "listing the snapshots") }
        guard let line = output.stdout.split(whereSeparator: \.isNewline).first(where: { $0.hasPrefix("[") }) else {
            return []
        }
        do {
            let decoded = try JSONDecoder().decode([JSONLines.Snapshot].self, from: Data(line.utf8))
            return decoded.map(\.model).sorted { $0.time < $1.time }
        } catch {
            throw ResticError(kind: .other, message: "restic's snapshot list could not be read: \(error)")
        }
    }

    /// Applies a retention policy to the snapshots carrying all of `tags` (and of `host`), grouped
    /// explicitly by `groupBy` (`host,paths` by default, restic's own default includes tags).
    /// `keep` holds restic's options, e.g. `["--keep-last", "2", "--keep-daily", "7"]`.
    public func forget(
        _ repository: ResticRepository,
        tags: [String],
        host: String?,
        groupBy: String = "host,paths",
        keep: [String],
        prune: Bool,
        dryRun: Bool = false
    ) async throws -> ResticForgetResult {
        try ArgumentCheck.tags(tags)
        try ArgumentCheck.groupBy(groupBy)
        try ArgumentCheck.keepPolicy(keep)
        var command = ["forget", "--group-by=\(groupBy)"]
        if !tags.isEmpty { command.append("--tag=\(tags.joined(separator: ","))") }
        if let host {
            try ArgumentCheck.host(host)
            command.append("--host=\(host)")
        }
        command += keep
        if prune { command.append("--prune") }
        if dryRun { command.append("--dry-run") }
        let output = try await run(repository, command)
        guard output.succeeded else { throw failure(output, repository, operation: "removing old snapshots") }
        // 0.14 prints the groups as one JSON line, then prune's text (whose progress lines also
        // start with "["); later versions append prune's JSON lines. The first decodable array wins.
        for line in output.stdout.split(whereSeparator: \.isNewline) where line.hasPrefix("[") {
            if let groups = try? JSONDecoder().decode([JSONLines.ForgetGroup].self, from: Data(line.utf8)) {
                return ResticForgetResult(groups: groups.map(\.model), dryRun: dryRun, pruned: prune && !dryRun)
            }
        }
        return ResticForgetResult(groups: [], dryRun: dryRun, pruned: prune && !dryRun)
    }

    /// Removes one snapshot and the data only it used (`forget --prune ID`).
    public func forgetSnapshot(_ repository: ResticRepository, id: String) async throws {
        try ArgumentCheck.snapshotID(id)
        let output = try await run(repository, ["forget", "--prune", id])
        guard output.succeeded else { throw failure(output, repository, operation: "removing snapshot \(id.prefix(8))") }
    }

    // MARK: Maintenance

    /// Verifies the repository; `readDataSubset` ("10%", "1/5", "500M") also reads that much pack data.
    /// A damaged repository is returned as `isHealthy == false`, not thrown.
    public func check(_ repository: ResticRepository, readDataSubset: String?) async throws -> ResticCheckResult {
        var command = ["check"]
        if let subset = readDataSubset {
            if subset.isEmpty || subset.hasPrefix("-") || subset.contains(where: \.isWhitespace) {
                throw ResticError.invalidArgument("\"\(subset)\" is not a valid data subset (e.g. 10%, 1/5, 500M)")
            }
            command.append("--read-data-subset=\(subset)")
        }
        let json = version.hasCheckJSON
        let output = try await run(repository, command, json: json)
        let secrets = repository.secretValues
        var summary: JSONLines.CheckSummary?
        if json {
            for line in output.stdout.split(whereSeparator: \.isNewline) where line.hasPrefix("{") {
                if let decoded = try? JSONDecoder().decode(JSONLines.CheckSummary.self, from: Data(line.utf8)),
                    decoded.message_type == "summary"
                {
                    summary = decoded
                }
            }
        }
        let problems = Self.checkProblems(Redactor(secrets: secrets).redact(output.stderr))
        if output.succeeded, (summary?.num_errors ?? 0) == 0 {
            return ResticCheckResult(
                isHealthy: true,
                suggestRepairIndex: summary?.suggest_repair_index ?? false,
                suggestPrune: summary?.suggest_prune ?? false
            )
        }
        let damaged = (summary?.num_errors ?? 0) > 0 || output.stderr.lowercased().contains("repository contains errors")
        guard damaged, !output.termination.signaled else {
            throw failure(output, repository, operation: "checking the repository")
        }
        return ResticCheckResult(
            isHealthy: false,
            errors: problems.isEmpty ? ["the repository contains errors"] : problems,
            suggestRepairIndex: summary?.suggest_repair_index ?? false,
            suggestPrune: summary?.suggest_prune ?? false,
            brokenPacks: summary?.broken_packs ?? []
        )
    }

    /// The problem lines of check's stderr, without restic's closing "Fatal: repository contains errors".
    static func checkProblems(_ stderr: String) -> [String] {
        ResticErrorClassifier.meaningfulLines(stderr).filter { line in
            let lower = line.lowercased()
            return !lower.contains("repository contains errors") && !lower.hasPrefix("using temporary cache")
                && !lower.hasPrefix("the following") && !lower.hasPrefix("create exclusive lock")
        }
    }

    /// Removes stale locks (those of processes that are gone); `removeAll` removes every lock.
    public func unlock(_ repository: ResticRepository, removeAll: Bool = false) async throws {
        var command = ["unlock"]
        if removeAll { command.append("--remove-all") }
        let output = try await run(repository, command)
        guard output.succeeded else { throw failure(output, repository, operation: "removing stale locks") }
    }
}
