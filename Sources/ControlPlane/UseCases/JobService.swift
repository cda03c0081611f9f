import BackupCore
import Foundation
import HubAPI
import LinkProtocol
import Sealing
import Store

/// Jobs as use cases: the API routes and the web pages both call these, never each other.
/// Every rule comes from BackupCore; every failure is a `DomainError`.
struct JobService {
    let hub: HubServices

    /// Validates and stores a new job, then tells its agent.
    func create(_ body: JobRequest, accountID: String) async throws -> Job {
        try Access.require(.editJobs)
        let name = try Name.validate(body.name)
        let kind = try JobKind.parse(body.kind)
        let sources = try (body.sources ?? JobSources()).validated(for: kind)
        let schedule = try Schedule.validated(body.schedule, timeZone: body.timeZone ?? "UTC")
        let retention = try (body.retention ?? .standard).validatedForRequest()
        let server = try await serverID(body.server, accountID: accountID, field: "server")
        let destinations = try await authorizedDestinations(body.destinations, accountID: accountID)
        if kind == .hub { try await requireHubBackup(serverID: server, accountID: accountID, field: "server") }
        let now = hub.clock.now()
        let job = Job(
            id: ResourceID.make(.job), accountID: accountID, serverID: server, name: name, kind: kind, sources: sources,
            schedule: schedule, retention: retention, destinationIDs: destinations, enabled: body.enabled ?? true,
            createdAt: now, updatedAt: now, staleAfter: try Job.validatedStaleAfter(body.staleAfter, kind: kind),
            checkSubsets: try Job.validatedCheckSubsets(body.checkSubsets, kind: kind), pingURL: try Job.validatedPingURL(body.pingURL),
            hooks: try body.hooks?.validated(),
            destinationRetention: try await resolved(body.destinationRetention, accountID: accountID, destinationIDs: destinations),
            drill: try JobDrill.applying(
                frequency: body.drill, sample: body.drillSample, assertions: body.drillAssertions, to: nil, kind: kind),
            window: try body.window.flatMap { try Job.validatedWindow($0) },
            spreadSeconds: try body.spread.flatMap { try ScheduleSpread.parse($0) })
        try await hub.store.createJob(job)
        try await hub.notifyAgent(serverID: job.serverID, accountID: accountID)
        return job
    }

    /// Applies a change to a job, stores it and tells its agent.
    func update(_ original: Job, with body: JobUpdate) async throws -> Job {
        try Access.require(.editJobs)
        var job = original
        if let name = body.name { job.name = try Name.validate(name) }
        if let kind = body.kind { job.kind = try JobKind.parse(kind) }
        if job.kind == .hub && original.kind != .hub {
            try await requireHubBackup(serverID: job.serverID, accountID: job.accountID, field: "kind")
        }
        job.sources = try (body.sources ?? job.sources).validated(for: job.kind)
        if body.schedule != nil || body.timeZone != nil {
            job.schedule = try Schedule.validated(body.schedule ?? job.schedule.calendar, timeZone: body.timeZone ?? job.schedule.timeZone)
        }
        if let retention = body.retention { job.retention = try retention.validatedForRequest() }
        if let destinations = body.destinations { job.destinationIDs = try await authorizedDestinations(destinations, accountID: job.accountID) }
        if let enabled = body.enabled { job.enabled = enabled }
        if let staleAfter = body.staleAfter { job.staleAfter = try Job.validatedStaleAfter(staleAfter, kind: job.kind) }
        if job.kind.isMaintenance { job.staleAfter = nil }
        if let pingURL = body.pingURL { job.pingURL = try Job.validatedPingURL(pingURL) }
        if let hooks = body.hooks { job.hooks = try hooks.validated() }
        if let list = body.destinationRetention {
            job.destinationRetention = try await resolved(list, accountID: job.accountID, destinationIDs: job.destinationIDs)
        } else if body.destinations != nil {
            // Rules of destinations the job no longer writes to go with them.
            job.destinationRetention = job.destinationRetention?.filter { job.destinationIDs.contains($0.destination) }
            if job.destinationRetention?.isEmpty == true { job.destinationRetention = nil }
        }
        job.checkSubsets = try Job.validatedCheckSubsets(
            job.kind == .check ? (body.checkSubsets ?? job.checkSubsets) : body.checkSubsets, kind: job.kind)
        job.drill = try JobDrill.applying(
            frequency: body.drill, sample: body.drillSample, assertions: body.drillAssertions, to: original.drill, kind: job.kind)
        if let window = body.window { job.window = try Job.validatedWindow(window) }
        if let spread = body.spread { job.spreadSeconds = try ScheduleSpread.parse(spread) }
        if let manifest = body.manifest {
            job.manifest = try await ManifestService(hub: hub).checked(manifest, for: job, replacing: original.manifest)
        }
        job.updatedAt = hub.clock.now()
        try await hub.store.updateJob(job)
        try await hub.notifyAgent(serverID: job.serverID, accountID: job.accountID)
        return job
    }

    /// Which of the job's snapshots a retention policy would remove at each destination, computed
    /// from the hub's snapshot records with restic's own rules (`RetentionSimulator`). Changes nothing.
    func retentionPreview(_ job: Job, retention: RetentionPolicy?, destinationRetention: [DestinationRetention]? = nil) async throws
        -> RetentionPreview
    {
        var job = job
        job.retention = try (retention ?? job.retention).validatedForRequest()
        if let destinationRetention {
            job.destinationRetention = try await resolved(destinationRetention, accountID: job.accountID, destinationIDs: job.destinationIDs)
        }
        let policy = job.retention
        var snapshots: [Snapshot] = []
        var cursor: Cursor?
        repeat {
            let page = try await hub.store.snapshots(
                accountID: job.accountID, filter: SnapshotFilter(serverID: job.serverID, jobID: job.id), after: cursor, limit: 500)
            snapshots += page.items
            cursor = page.nextCursor
        } while cursor != nil && snapshots.count < 100_000
        let destinations = try await hub.store.destinations(accountID: job.accountID).filter { job.destinationIDs.contains($0.id) }
        let names = Dictionary(destinations.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        let zone = TimeZone(identifier: job.schedule.timeZone) ?? TimeZone(identifier: "UTC")!
        let now = hub.clock.now()
        var results: [RetentionPreviewDestination] = []
        for destinationID in job.destinationIDs {
            let copies = snapshots.compactMap { snapshot in
                snapshot.copies.first { $0.destinationID == destinationID }.map { (snapshot, $0) }
            }.sorted { $0.0.createdAt != $1.0.createdAt ? $0.0.createdAt > $1.0.createdAt : $0.0.id < $1.0.id }
            let applied = names[destinationID]?.kind != .peer
            let decisions =
                applied
                ? RetentionSimulator.apply(job.retention(for: destinationID), to: copies.map { $0.0.createdAt }, timeZone: zone, now: now)
                : copies.map { _ in RetentionSimulator.Decision(keep: true, reasons: ["peer destinations are append-only"]) }
            var keep: [RetentionPreviewSnapshot] = []
            var remove: [RetentionPreviewSnapshot] = []
            for ((snapshot, copy), decision) in zip(copies, decisions) {
                let item = RetentionPreviewSnapshot(
                    snapshotID: snapshot.id, createdAt: snapshot.createdAt, resticSnapshotIDs: copy.resticSnapshotIDs, reasons: decision.reasons)
                if decision.keep { keep.append(item) } else { remove.append(item) }
            }
            results.append(
                RetentionPreviewDestination(
                    destinationID: destinationID, destinationName: names[destinationID]?.name ?? destinationID,
                    summary: job.retention(for: destinationID).summary, applied: applied, keep: keep,
                    remove: remove))
        }
        return RetentionPreview(retention: policy, summary: policy.summary, timeZone: zone.identifier, destinations: results)
    }

    /// Per-destination retention with destinations named by id or name, resolved and validated
    /// against the job's destinations.
    func resolved(_ list: [DestinationRetention]?, accountID: String, destinationIDs: [String]) async throws -> [DestinationRetention]? {
        guard let list else { return nil }
        var names: [String: String] = [:]
        var resolved: [DestinationRetention] = []
        for (index, item) in list.enumerated() {
            let found = try await destinations([item.destination], accountID: accountID, field: "destinationRetention[\(index)].destination")[0]
            names[found.id] = found.name
            resolved.append(DestinationRetention(destination: found.id, retention: item.retention))
        }
        return try Job.validatedDestinationRetention(resolved, destinationIDs: destinationIDs, names: names)
    }

    /// Deletes a job (its runs and snapshots stay) and tells its agent.
    func delete(_ job: Job) async throws {
        try Access.require(.deleteJobs)
        guard try await hub.store.deleteJob(accountID: job.accountID, id: job.id) else { throw DomainError.notFound("job", job.id) }
        try await hub.notifyAgent(serverID: job.serverID, accountID: job.accountID)
    }

    /// Queues a manual run and its agent command in one transaction; refused when the agent is not
    /// enrolled or the job already has a queued or running run.
    func runNow(_ job: Job) async throws -> Run {
        try Access.require(.runNow)
        guard let server = try await hub.store.server(accountID: job.accountID, reference: job.serverID), server.enrolledAt != nil else {
            throw DomainError.conflict(nil, "the job's server has no agent enrolled yet; run the command printed by `mzpanel servers add` on it")
        }
        if job.kind == .hub { try await requireHubBackup(serverID: job.serverID, accountID: job.accountID, field: nil) }
        let run = Run(
            id: ResourceID.make(.run), accountID: job.accountID, serverID: job.serverID, jobID: job.id, trigger: .manual,
            status: .queued, createdAt: hub.clock.now())
        let command = AgentCommand(id: ResourceID.make(.command), kind: .runNow, jobID: job.id, runID: run.id, createdAt: run.createdAt)
        do {
            try await hub.store.queueRun(run, command: command)
        } catch let error as DomainError where error.code == .conflict {
            throw DomainError.conflict(error.field, "job \(job.name) \(error.message)")
        }
        return run
    }

    /// The job with this id, or with this name (on the server given, when names repeat across servers).
    func job(_ reference: String, server: String?, accountID: String) async throws -> Job {
        var serverID: String?
        if let server { serverID = try await self.serverID(server, accountID: accountID, field: "server") }
        let matches = try await hub.store.jobs(accountID: accountID, reference: reference, serverID: serverID)
        if matches.count > 1 {
            throw DomainError(
                .ambiguous,
                "\(matches.count) jobs are named \"\(reference)\" (on different servers); give the server too (?server=NAME, --server) or use the job's id"
            )
        }
        guard let job = matches.first else { throw DomainError(.notFound, "no job \"\(reference)\" in this account") }
        return job
    }

    /// One page of jobs, of one server and/or writing to one destination, with health.
    func list(accountID: String, server: String?, destination: String?, after cursor: Cursor?, limit: Int) async throws -> JobList {
        var serverID: String?
        if let server { serverID = try await self.serverID(server, accountID: accountID, field: "server") }
        var destinationID: String?
        if let destination { destinationID = try await destinations([destination], accountID: accountID, field: "destination")[0].id }
        let page = try await hub.store.jobs(accountID: accountID, serverID: serverID, destinationID: destinationID, after: cursor, limit: limit)
        return JobList(jobs: try await views(page.items, accountID: accountID), nextCursor: page.nextCursor?.token)
    }

    /// Views with health: one query for the newest runs, one for the servers, whatever the page size.
    func views(_ jobs: [Job], accountID: String) async throws -> [JobView] {
        let now = hub.clock.now()
        let statuses = Dictionary(
            uniqueKeysWithValues: try await hub.store.jobStatuses(accountID: accountID, jobIDs: jobs.map(\.id)).map { ($0.id, $0) })
        let servers = Dictionary(
            uniqueKeysWithValues: try await hub.store.servers(accountID: accountID, ids: jobs.map(\.serverID)).map { ($0.id, $0) })
        let accountKey = try await ManifestService(hub: hub).accountKey(accountID: accountID)
        return jobs.map { job in
            let online = servers[job.serverID]?.isOnline(now: now) ?? false
            let status = statuses[job.id] ?? JobStatus(job, latestRun: nil, newestSnapshotAt: nil)
            return JobView(
                job, now: now, health: hub.health(status, serverOnline: online, now: now), lastRun: status.latestRun,
                serverName: servers[job.serverID]?.name, manifestState: ManifestSignature.state(of: job, accountKey: accountKey),
                lastDrill: status.lastDrill, provenAt: status.provenAt)
        }
    }

    /// Hub jobs run only where the box's administrator allowed them (`mzpanel-agent hub-backup enable`,
    /// reported as a capability): the hub cannot make an arbitrary server read files for it.
    func requireHubBackup(serverID: String, accountID: String, field: String?) async throws {
        let server = try await hub.store.server(accountID: accountID, reference: serverID)
        guard let server, server.capabilities.contains(AgentCapability.hubBackup) else {
            throw DomainError.conflict(
                field,
                "server \(server?.name ?? serverID) has not allowed hub backups: on the hub's machine, run `mzpanel-agent hub-backup enable --data-dir /var/lib/mzpanel --passphrase-file FILE` (as root), then try again"
            )
        }
    }

    /// The id of the server with this id or name; `field` names the input in the error.
    func serverID(_ reference: String, accountID: String, field: String) async throws -> String {
        guard let server = try await hub.store.server(accountID: accountID, reference: reference) else {
            throw DomainError.invalid(field, "no server \"\(reference)\" in this account; see mzpanel servers list")
        }
        return server.id
    }

    /// The destinations with these ids or names, in order.
    func destinations(_ references: [String], accountID: String, field: String? = nil) async throws -> [Destination] {
        var found: [Destination] = []
        for (index, reference) in references.enumerated() {
            guard let destination = try await hub.store.destination(accountID: accountID, reference: reference) else {
                throw DomainError.invalid(
                    field ?? "destinations[\(index)]", "no destination \"\(reference)\" in this account; see mzpanel destinations list")
            }
            found.append(destination)
        }
        return found
    }

    /// Resolves destinations and checks the plan still includes each one's kind.
    func authorizedDestinations(_ references: [String], accountID: String) async throws -> [String] {
        guard let account = try await hub.store.account(id: accountID) else { throw DomainError(.unauthorized, "the account no longer exists") }
        let destinations = try await destinations(references, accountID: accountID)
        for destination in destinations { try account.plan.authorize(destination.kind) }
        do {
            return try Job.validatedDestinations(destinations.map(\.id))
        } catch {
            throw DomainError(error.code, field: "destinations", error.message)
        }
    }
}
