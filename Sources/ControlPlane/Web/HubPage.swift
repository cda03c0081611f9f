import BackupCore
import Foundation
import Hummingbird
import Mustache
import Store

/// `/backups`: fleet totals, one card per server with its jobs, and the latest failures.
/// A fixed number of queries whatever the fleet's size (servers, job statuses — each with its
/// newest run and snapshot —, summary, failures).
struct HubPage {
    let pages: WebPages

    struct Model {
        let layout: Layout
        let totals: [Total]
        let servers: [ServerCard]
        let failures: [Failure]
        let hasServers: Bool
        let hasFailures: Bool
        /// "Servers 51–100 of 500" and the links around it, when the fleet needs more than one page.
        let range: String?
        let previous: String?
        let next: String?

        init(layout: Layout, totals: [Total], servers: [ServerCard], failures: [Failure], range: String?, previous: String?, next: String?) {
            self.layout = layout
            self.totals = totals
            self.servers = servers
            self.failures = failures
            hasServers = !servers.isEmpty
            hasFailures = !failures.isEmpty
            self.range = range
            self.previous = previous
            self.next = next
        }
    }

    /// Cards per page, and job rows per card (problems first; the rest behind "all N jobs").
    static let cardsPerPage = 48
    static let rowsPerCard = 6
    struct Total {
        let label: String
        let value: String
        let tone: String
    }
    struct ServerCard: MustacheParent {
        func child(named name: String) -> Any? {
            switch name {
            case "id": id
            case "name": self.name
            case "online": online
            case "enrolled": enrolled
            case "jobs": jobs
            case "hasJobs": hasJobs
            case "more": more > 0 ? more : nil
            case "health": health
            case "healthLabel": healthLabel
            case "outdated": outdated
            default: nil
            }
        }
        let id: String
        let name: String
        let online: Bool
        let enrolled: Bool
        let jobs: [JobRow]
        let hasJobs: Bool
        /// How many more jobs the card does not list.
        let more: Int
        /// The server's health (worst of its jobs, or its link), as the API says it.
        let health: String
        let healthLabel: String
        /// Its agent runs none of the hub's builds.
        let outdated: Bool

        init(
            id: String, name: String, online: Bool, enrolled: Bool, jobs: [JobRow], more: Int = 0, health: ServerHealth = .ok, outdated: Bool = false
        ) {
            self.outdated = outdated
            self.id = id
            self.name = name
            self.online = online
            self.enrolled = enrolled
            self.jobs = jobs
            hasJobs = !jobs.isEmpty
            self.more = more
            self.health = health.rawValue
            healthLabel = WebFormat.healthLabel(health)
        }
    }
    struct JobRow: MustacheParent {
        /// A job's line on a card: its health, newest snapshot and next run.
        init(_ job: JobStatus, health: JobHealth, now: Date) {
            self.init(
                id: job.id, name: job.name, health: health.rawValue, healthLabel: WebFormat.healthLabel(health),
                lastSnapshot: job.newestSnapshotAt.map { TimeView($0, now: now) },
                nextRun: job.enabled ? job.nextStart(after: now).map { TimeView($0, now: now) } : nil,
                lastRunStatus: job.latestRun?.status.rawValue)
        }

        init(id: String, name: String, health: String, healthLabel: String, lastSnapshot: TimeView?, nextRun: TimeView?, lastRunStatus: String?) {
            self.id = id
            self.name = name
            self.health = health
            self.healthLabel = healthLabel
            self.lastSnapshot = lastSnapshot
            self.nextRun = nextRun
            self.lastRunStatus = lastRunStatus
        }

        func child(named name: String) -> Any? {
            switch name {
            case "id": id
            case "name": self.name
            case "health": health
            case "healthLabel": healthLabel
            case "lastSnapshot": lastSnapshot
            case "nextRun": nextRun
            case "lastRunStatus": lastRunStatus
            default: nil
            }
        }
        let id: String
        let name: String
        let health: String
        let healthLabel: String
        let lastSnapshot: TimeView?
        let nextRun: TimeView?
        let lastRunStatus: String?
    }
    struct Failure {
        let runID: String
        let jobName: String
        let serverName: String
        let when: TimeView
        let message: String
    }

    func register(on router: Router<HubRequestContext>) {
        router.page(.get, "/backups", pages: pages) { request, _, caller in
            pages.render("hub", try await model(caller, page: request.uri.queryParameters.get("page").flatMap { Int($0) } ?? 1))
        }
    }

    func model(_ caller: PageCaller, page: Int = 1) async throws -> Model {
        let accountID = caller.account.id
        let now = pages.now
        let servers = try await pages.store.servers(accountID: accountID)
        let jobs = try await pages.store.jobStatuses(accountID: accountID, jobIDs: nil)
        let summary = try await pages.store.fleetSummary(accountID: accountID, now: now)
        let failed = try await pages.store.runs(accountID: accountID, filter: RunFilter(status: .failed), after: nil, limit: 8).items

        let online = Dictionary(uniqueKeysWithValues: servers.map { ($0.id, $0.isOnline(now: now)) })
        let builds = pages.hub.agentBuilds.all
        var health: [String: JobHealth] = [:]
        for job in jobs { health[job.id] = pages.hub.health(job, serverOnline: online[job.serverID] ?? false, now: now) }
        let byServer = Dictionary(grouping: jobs, by: \.serverID)
        func troubled(_ job: JobStatus) -> Bool { [.failing, .partial, .missed, .stale, .offline].contains(health[job.id] ?? .ok) }
        // Servers with trouble first, then by name; one page of cards; on each, troubled jobs first.
        // Each server's trouble is found once, then the indices sort (a fleet of 10,000 sorts fast).
        let inTrouble = servers.map { (byServer[$0.id] ?? []).contains(where: troubled) }
        let ordered = servers.indices.sorted { a, b in
            inTrouble[a] != inTrouble[b] ? inTrouble[a] : servers[a].name < servers[b].name
        }.map { servers[$0] }
        let pageCount = max(1, (ordered.count + Self.cardsPerPage - 1) / Self.cardsPerPage)
        let current = min(max(page, 1), pageCount)
        let shown = ordered.dropFirst((current - 1) * Self.cardsPerPage).prefix(Self.cardsPerPage)
        let cards = shown.map { server in
            let all = (byServer[server.id] ?? []).sorted { a, b in troubled(a) != troubled(b) ? troubled(a) : a.name < b.name }
            let serverHealth = ServerHealth.evaluate(
                enrolled: server.enrolledAt != nil, online: online[server.id] ?? false,
                jobs: all.compactMap { health[$0.id] })
            return ServerCard(
                id: server.id, name: server.name, online: online[server.id] ?? false, enrolled: server.enrolledAt != nil,
                jobs: all.prefix(Self.rowsPerCard).map { job in
                    JobRow(job, health: health[job.id] ?? .neverRun, now: now)
                }, more: max(0, all.count - Self.rowsPerCard), health: serverHealth,
                outdated: server.enrolledAt != nil && AgentBuilds.isOutdated(agentVersion: server.agentVersion, builds: builds) == true)
        }
        let jobNames = Dictionary(uniqueKeysWithValues: jobs.map { ($0.id, $0.name) })
        let serverNames = Dictionary(uniqueKeysWithValues: servers.map { ($0.id, $0.name) })
        let failures = failed.map { run in
            Failure(
                runID: run.id, jobName: jobNames[run.jobID] ?? "deleted job", serverName: serverNames[run.serverID] ?? "removed server",
                when: TimeView(run.finishedAt ?? run.createdAt, now: now),
                message: run.results.compactMap(\.error).first ?? "the run failed")
        }
        let failing = health.values.filter { $0 == .failing || $0 == .partial }.count
        let missed = health.values.filter { $0 == .missed }.count
        let stale = health.values.filter { $0 == .stale }.count
        let totals = [
            Total(label: "Servers", value: "\(summary.servers)", tone: ""),
            Total(label: "Jobs", value: "\(summary.jobs)", tone: ""),
            Total(label: "Failing", value: "\(failing)", tone: failing > 0 ? "failing" : "ok"),
            Total(label: "Missed", value: "\(missed)", tone: missed > 0 ? "missed" : "ok"),
            Total(label: "Stale", value: "\(stale)", tone: stale > 0 ? "stale" : "ok"),
            Total(label: "Protected", value: WebFormat.bytes(summary.protectedBytes), tone: ""),
        ]
        let first = (current - 1) * Self.cardsPerPage + 1
        return Model(
            layout: Layout("Backups", section: "hub", caller: caller), totals: totals, servers: Array(cards), failures: failures,
            range: pageCount > 1 ? "Servers \(first)–\(first + cards.count - 1) of \(servers.count)" : nil,
            previous: current > 1 ? "/backups?page=\(current - 1)" : nil, next: current < pageCount ? "/backups?page=\(current + 1)" : nil)
    }
}
