import BackupCore
import Foundation
import Store
import Testing

/// Builds domain values and stores them, with whole-millisecond times as the hub stores them.
struct StoreSeed {
    let store: SQLHubStore
    /// 2026-01-01T00:00:00Z
    static let t0 = Date(millisecondsSince1970: 1_767_225_600_000)
    var now: Date { Self.t0 }

    static func at(_ seconds: Double) -> Date { Date(millisecondsSince1970: t0.millisecondsSince1970 + Int64(seconds * 1000)) }

    @discardableResult
    func account(_ label: String, plan: Plan = .plus) async throws -> Account {
        let account = Account(id: ResourceID.make(.account), name: label, plan: plan, createdAt: now)
        let user = User(
            id: ResourceID.make(.user), accountID: account.id, email: "\(label)-\(account.id.suffix(6))@example.com",
            passwordHash: "$2b$04$notarealhash", createdAt: now)
        try await store.createAccount(account, user: user)
        return account
    }

    @discardableResult
    func server(_ account: Account, _ name: String, createdAt: Date? = nil) async throws -> Server {
        let server = Server(id: ResourceID.make(.server), accountID: account.id, name: name, createdAt: createdAt ?? now)
        try await store.createServer(server)
        return server
    }

    @discardableResult
    func destination(_ account: Account, _ name: String, kind: DestinationKind = .local, settings: DestinationSettings? = nil) async throws
        -> Destination
    {
        let destination = Destination(
            id: ResourceID.make(.destination), accountID: account.id, name: name, kind: kind,
            settings: settings ?? DestinationSettings(path: "/var/backups/\(name)"), createdAt: now, updatedAt: now
        )
        try await store.createDestination(destination)
        return destination
    }

    static func schedule(_ text: String = "daily") throws -> Schedule {
        try Schedule.parse(text, timeZone: "UTC")
    }

    func makeJob(_ account: Account, _ server: Server, _ name: String, destinations: [Destination], enabled: Bool = true) throws -> Job {
        Job(
            id: ResourceID.make(.job), accountID: account.id, serverID: server.id, name: name, kind: .full,
            sources: JobSources(
                paths: ["/var/www", "/etc"], excludes: ["*.tmp"],
                databases: [DatabaseSource(engine: .postgresql, name: "shop", connection: "localhost:5432")]),
            schedule: try Self.schedule(), retention: RetentionPolicy(keepLast: 3, keepDaily: 7, keepWithin: "14d"),
            destinationIDs: destinations.map(\.id), enabled: enabled, createdAt: now, updatedAt: now
        )
    }

    @discardableResult
    func job(_ account: Account, _ server: Server, _ name: String, destinations: [Destination], enabled: Bool = true) async throws -> Job {
        let job = try makeJob(account, server, name, destinations: destinations, enabled: enabled)
        try await store.createJob(job)
        return job
    }

    func makeRun(_ job: Job, createdAt: Date, status: RunStatus = .succeeded, slot: Date? = nil, destinations: [String]? = nil) -> Run {
        let results = (destinations ?? job.destinationIDs).map {
            DestinationResult(
                destinationID: $0, status: status == .succeeded ? .succeeded : .failed, resticSnapshotIDs: ["abc123"],
                bytesAdded: 10, bytesProcessed: 100, durationSeconds: 1.5)
        }
        return Run(
            id: ResourceID.make(.run), accountID: job.accountID, serverID: job.serverID, jobID: job.id, trigger: slot == nil ? .manual : .timer,
            slot: slot, status: status, createdAt: createdAt, startedAt: createdAt,
            finishedAt: status.isFinished ? createdAt.addingTimeInterval(60) : nil,
            bytesAdded: 10, bytesProcessed: 100, filesNew: 3, results: results, logExcerpt: "done"
        )
    }

    @discardableResult
    func run(_ job: Job, createdAt: Date, status: RunStatus = .succeeded, slot: Date? = nil, destinations: [String]? = nil) async throws -> Run {
        let run = makeRun(job, createdAt: createdAt, status: status, slot: slot, destinations: destinations)
        try await store.insertRun(run)
        return run
    }

    @discardableResult
    func snapshot(_ run: Run, copies: [SnapshotCopy]? = nil, createdAt: Date? = nil) async throws -> Snapshot {
        let snapshot = Snapshot(
            id: ResourceID.make(.snapshot), accountID: run.accountID, serverID: run.serverID, jobID: run.jobID, runID: run.id,
            createdAt: createdAt ?? run.createdAt,
            copies: copies
                ?? run.results.map {
                    SnapshotCopy(
                        destinationID: $0.destinationID, resticSnapshotIDs: ["r-\($0.destinationID.suffix(4))"], bytesAdded: 10, bytesTotal: 1000)
                }
        )
        try await store.insertSnapshot(snapshot)
        return snapshot
    }
}

/// Jobs hold a `Schedule`, whose equality may depend on parsed state: compare what is stored.
func expectSameJob(_ actual: Job?, _ expected: Job, sourceLocation: SourceLocation = #_sourceLocation) {
    guard let actual else {
        Issue.record("job \(expected.name) was not found", sourceLocation: sourceLocation)
        return
    }
    var lhs = actual
    var rhs = expected
    #expect(lhs.schedule.calendar == rhs.schedule.calendar, sourceLocation: sourceLocation)
    #expect(lhs.schedule.timeZone == rhs.schedule.timeZone, sourceLocation: sourceLocation)
    let placeholder = Schedule(storedCalendar: "placeholder", timeZone: "UTC")
    lhs.schedule = placeholder
    rhs.schedule = placeholder
    #expect(lhs == rhs, sourceLocation: sourceLocation)
}

/// Runs `body` and returns the `DomainError` it throws (recording an issue when it throws nothing or something else).
@discardableResult
func expectDomainError(
    _ code: DomainError.Code, field: String? = nil, sourceLocation: SourceLocation = #_sourceLocation,
    _ body: () async throws -> Void
) async -> DomainError? {
    do {
        try await body()
        Issue.record("expected DomainError.\(code) but nothing was thrown", sourceLocation: sourceLocation)
        return nil
    } catch let error as DomainError {
        #expect(error.code == code, "\(error)", sourceLocation: sourceLocation)
        if let field { #expect(error.field == field, sourceLocation: sourceLocation) }
        #expect(!error.message.isEmpty, sourceLocation: sourceLocation)
        return error
    } catch {
        Issue.record("expected DomainError.\(code) but got \(String(reflecting: error))", sourceLocation: sourceLocation)
        return nil
    }
}
