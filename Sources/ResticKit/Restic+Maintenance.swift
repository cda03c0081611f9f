import Foundation
import Redaction

/// What `restic prune` did, from its report (restic 0.14 prints text only; later versions the same lines).
public struct ResticPruneResult: Sendable, Equatable {
    /// restic's report lines (`to delete: …`, `total prune: …`, `remaining: …`), redacted.
    public var report: [String]

    public init(report: [String]) { self.report = report }
}

/// A repository's size (`restic stats --json`).
public struct ResticStats: Sendable, Equatable {
    /// What restoring every snapshot would write (`--mode restore-size`).
    public var totalSize: Int64
    /// The bytes the repository stores after deduplication (`--mode raw-data`).
    public var rawDataSize: Int64
    public var snapshotCount: Int

    public init(totalSize: Int64, rawDataSize: Int64, snapshotCount: Int) {
        self.totalSize = totalSize
        self.rawDataSize = rawDataSize
        self.snapshotCount = snapshotCount
    }
}

extension Restic {
    /// `restic prune`: removes the data no snapshot uses any more, under restic's exclusive lock.
    /// `maxUnused` (`5%`, bytes, `unlimited`) and `maxRepackSize` (bytes) are restic's own limits.
    public func prune(_ repository: ResticRepository, maxUnused: String? = nil, maxRepackSize: String? = nil) async throws -> ResticPruneResult {
        var command = ["prune"]
        if let maxUnused {
            try ArgumentCheck.pruneValue(maxUnused, what: "--max-unused")
            command.append("--max-unused=\(maxUnused)")
        }
        if let maxRepackSize {
            try ArgumentCheck.pruneValue(maxRepackSize, what: "--max-repack-size")
            command.append("--max-repack-size=\(maxRepackSize)")
        }
        let output = try await run(repository, command, json: false)
        guard output.succeeded else { throw failure(output, repository, operation: "pruning the repository") }
        let redactor = Redactor(secrets: repository.secretValues)
        let report = output.stdout.split(whereSeparator: \.isNewline).map { redactor.redact(String($0)).trimmingCharacters(in: .whitespaces) }
            .filter { line in
                ["to repack:", "this removes", "to delete:", "total prune:", "remaining:", "unused size after prune"].contains { line.hasPrefix($0) }
            }
        return ResticPruneResult(report: report)
    }

    /// The repository's sizes and snapshot count (two `restic stats` calls, without the exclusive lock).
    public func stats(_ repository: ResticRepository) async throws -> ResticStats {
        struct Stats: Decodable {
            let total_size: Int64
            let snapshots_count: Int?
        }
        func read(_ mode: String) async throws -> Stats {
            let output = try await run(repository, ["stats", "--mode=\(mode)"])
            guard output.succeeded else { throw failure(output, repository, operation: "measuring the repository") }
            for line in output.stdout.split(whereSeparator: \.isNewline).reversed() where line.hasPrefix("{") {
                if let decoded = try? JSONDecoder().decode(Stats.self, from: Data(line.utf8)) { return decoded }
            }
            throw ResticError(kind: .other, message: "restic's statistics could not be read")
        }
        let raw = try await read("raw-data")
        let restore = try await read("restore-size")
        return ResticStats(
            totalSize: restore.total_size, rawDataSize: raw.total_size, snapshotCount: restore.snapshots_count ?? raw.snapshots_count ?? 0)
    }

    /// Creates `repository` with the chunker parameters of `source` (`init --copy-chunker-params`),
    /// so snapshots copied from there deduplicate as they did at the source. Idempotent like `initialize`.
    @discardableResult
    public func initialize(_ repository: ResticRepository, copyingChunkerParametersFrom source: ResticRepository) async throws -> Bool {
        if try await isInitialized(repository) { return false }
        let environment = try Self.fromEnvironment(source, target: repository)
        let output = try await run(repository, ["init", "--copy-chunker-params"], extraEnvironment: environment)
        if output.succeeded { return true }
        let lower = output.stderr.lowercased()
        if lower.contains("config file already exists") || lower.contains("already initialized") { return false }
        throw failure(output, repository, operation: "creating the repository", extraSecrets: source.secretValues)
    }

    /// `restic copy --tag …` from `source` into `repository`: the snapshots carrying all of `tags`
    /// (of `host`) that the target does not hold yet. Both passwords and locations reach restic only
    /// through its environment (RESTIC_FROM_REPOSITORY, RESTIC_FROM_PASSWORD_FILE…), never its arguments.
    /// Returns the target's snapshots carrying `tags` after the copy.
    /// `onLine`: each line restic prints (a line per snapshot it copies), for a watchdog or a log.
    public func copy(
        from source: ResticRepository, to repository: ResticRepository, tags: [String], host: String? = nil,
        onLine: (@Sendable (String) -> Void)? = nil
    ) async throws -> [ResticSnapshot] {
        try ArgumentCheck.tags(tags)
        var command = ["copy"]
        if !tags.isEmpty { command.append("--tag=\(tags.joined(separator: ","))") }
        if let host {
            try ArgumentCheck.host(host)
            command.append("--host=\(host)")
        }
        let environment = try Self.fromEnvironment(source, target: repository)
        let output = try await run(repository, command, json: false, extraEnvironment: environment, onStdoutLine: onLine)
        guard output.succeeded else {
            throw failure(output, repository, operation: "copying snapshots", extraSecrets: source.secretValues)
        }
        return try await snapshots(repository, tags: tags, host: host)
    }

    /// The source repository as restic's `RESTIC_FROM_*` variables, plus its other variables (a
    /// cloud's credentials) where the target does not set the same variable differently: restic has
    /// one set of them for both repositories.
    static func fromEnvironment(_ source: ResticRepository, target: ResticRepository) throws -> [String: String] {
        var environment: [String: String] = ["RESTIC_FROM_REPOSITORY": source.location]
        for (key, value) in source.environment {
            switch key {
            case "RESTIC_PASSWORD": environment["RESTIC_FROM_PASSWORD"] = value
            case "RESTIC_PASSWORD_FILE": environment["RESTIC_FROM_PASSWORD_FILE"] = value
            case "RESTIC_PASSWORD_COMMAND": environment["RESTIC_FROM_PASSWORD_COMMAND"] = value
            case "RESTIC_REPOSITORY", "RESTIC_REPOSITORY_FILE", "RESTIC_CACHE_DIR", "RESTIC_PROGRESS_FPS": continue
            default:
                if let other = target.environment[key], other != value {
                    throw ResticError.invalidArgument(
                        "the two repositories need different values of \(key), and restic copy has one for both; copy through a destination of another kind"
                    )
                }
                environment[key] = value
            }
        }
        return environment
    }
}

extension ArgumentCheck {
    static func pruneValue(_ value: String, what: String) throws {
        let allowed = Set("0123456789.%kKmMgGtTbBiunlmited")
        if value.isEmpty || value.hasPrefix("-") || !value.allSatisfy({ allowed.contains($0) }) {
            throw ResticError.invalidArgument("\"\(value)\" is not a valid \(what) value")
        }
    }
}
