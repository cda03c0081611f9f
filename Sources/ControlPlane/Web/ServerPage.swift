import BackupCore
import Foundation
import HubAPI
import Hummingbird
import Store

/// A server's page: agent, jobs, recent runs and snapshots, and the command that enrolls it.
struct ServerPage {
    let pages: WebPages

    struct Model {
        let layout: Layout
        let server: ServerInfo
        let jobs: [HubPage.JobRow]
        let runs: [RunRow]
        let snapshots: [SnapshotRow]
        let enrollCommand: String?
        let installCommand: String?
        let privateCAInstallCommand: String?
        let enrollToken: String?
        let stacks: StacksView?
        let hasJobs: Bool
        let hasRuns: Bool
        let hasSnapshots: Bool

        init(
            layout: Layout, server: ServerInfo, jobs: [HubPage.JobRow], runs: [RunRow], snapshots: [SnapshotRow], enrollment: EnrollmentCreated?,
            stacks: StacksView?
        ) {
            self.stacks = stacks
            self.layout = layout
            self.server = server
            self.jobs = jobs
            self.runs = runs
            self.snapshots = snapshots
            enrollCommand = enrollment?.command
            installCommand = enrollment?.installCommand
            privateCAInstallCommand = enrollment?.privateCAInstallCommand
            enrollToken = enrollment?.secret
            hasJobs = !jobs.isEmpty
            hasRuns = !runs.isEmpty
            hasSnapshots = !snapshots.isEmpty
        }
    }
    struct ServerInfo {
        let id: String
        let name: String
        let online: Bool
        let enrolled: Bool
        let agentVersion: String
        /// Its agent runs none of the hub's builds (the page offers the upgrade).
        let outdated: Bool
        let fingerprint: String
        /// A certificate is stored; the page's script verifies it before sealing, the page only shows it.
        let certified: Bool
        let accountID: String
        let lastSeen: TimeView?
        /// The cap on concurrent runs on this server ("" for none), for its form.
        let maxConcurrentRuns: String
    }

    func register(on router: Router<HubRequestContext>) {
        router.page(.get, "/backups/servers/{server}", pages: pages) { _, context, caller in
            guard let server = try await server(context, caller) else { return pages.notFound("The server", caller: caller) }
            return pages.render("server", try await model(server, caller: caller, enrollment: nil))
        }
        router.page(.post, "/backups/servers", pages: pages) { request, _, caller in
            let form = try await FormData.read(request, limit: 16 * 1024)
            try caller.checkCSRF(form)
            let created: ServerCreated
            do {
                created = try await ServerService(hub: pages.hub).add(ServerRequest(name: form["name"] ?? ""), accountID: caller.account.id)
            } catch let error as DomainError {
                return pages.render(
                    "message",
                    MessageModel(
                        layout: Layout("Add server", section: "hub", caller: caller), title: "The server was not added",
                        message: error.message, back: "/backups"), status: .badRequest)
            }
            let (server, enrollment) = (created.server, created.enrollment)
            return pages.render("server", try await model(server, caller: caller, enrollment: enrollment), status: .created)
        }
        router.page(.post, "/backups/servers/{server}/enroll", pages: pages) { request, context, caller in
            try caller.checkCSRF(try await FormData.read(request, limit: 4096))
            guard let server = try await server(context, caller) else { return pages.notFound("The server", caller: caller) }
            let enrollment = try await EnrollmentService(hub: pages.hub).issue(for: server, lifetime: EnrollmentToken.defaultLifetimeSeconds)
            return pages.render("server", try await model(server, caller: caller, enrollment: enrollment))
        }
        router.page(.post, "/backups/servers/{server}/upgrade", pages: pages) { request, context, caller in
            try caller.checkCSRF(try await FormData.read(request, limit: 4096))
            guard let server = try await server(context, caller) else { return pages.notFound("The server", caller: caller) }
            let message: String
            let status: HTTPResponse.Status
            do {
                let started = try await ServerService(hub: pages.hub).upgrade(server)
                message =
                    "The agent on \(server.name) was asked to upgrade to build \(started.toBuildID). It waits for runs in progress, then restarts; the version on this page changes when it reconnects."
                status = .accepted
            } catch let error as DomainError {
                message = error.message
                status = .conflict
            }
            return pages.render(
                "message",
                MessageModel(
                    layout: Layout("Upgrade agent", section: "hub", caller: caller), title: status == .accepted ? "Upgrade sent" : "No upgrade",
                    message: message, back: "/backups/servers/\(server.id)"), status: status)
        }
        router.page(.post, "/backups/servers/{server}/concurrency", pages: pages) { request, context, caller in
            let form = try await FormData.read(request, limit: 4096)
            try caller.checkCSRF(form)
            guard let server = try await server(context, caller) else { return pages.notFound("The server", caller: caller) }
            let text = (form["maxConcurrentRuns"] ?? "").trimmingSpaces
            do {
                guard let cap = text.isEmpty ? 0 : Int(text) else {
                    throw DomainError.invalid(
                        "maxConcurrentRuns", "\"\(text)\" is not a whole number of runs; give 1 to 1000, or leave it empty for no cap")
                }
                _ = try await ServerService(hub: pages.hub).rename(server, with: ServerUpdate(name: nil, maxConcurrentRuns: cap))
            } catch let error as DomainError {
                return pages.render(
                    "message",
                    MessageModel(
                        layout: Layout("Concurrent runs", section: "hub", caller: caller), title: "The cap was not changed", message: error.message,
                        back: "/backups/servers/\(server.id)"), status: .badRequest)
            }
            return WebResponses.redirect("/backups/servers/\(server.id)")
        }
        router.page(.post, "/backups/servers/{server}/delete", pages: pages) { request, context, caller in
            try caller.checkCSRF(try await FormData.read(request, limit: 4096))
            guard let server = try await server(context, caller) else { return pages.notFound("The server", caller: caller) }
            let exposed = try await ServerService(hub: pages.hub).remove(server).exposedDestinations
            return pages.render(
                "server-deleted",
                DeletedModel(
                    layout: Layout("Server removed", section: "hub", caller: caller), name: server.name,
                    exposed: exposed.map(\.name), hasExposed: !exposed.isEmpty))
        }
    }

    struct DeletedModel {
        let layout: Layout
        let name: String
        let exposed: [String]
        let hasExposed: Bool
    }

    func server(_ context: HubRequestContext, _ caller: PageCaller) async throws -> Server? {
        guard let reference = context.parameters.get("server") else { return nil }
        return try await pages.store.server(accountID: caller.account.id, reference: reference)
    }

    func model(_ server: Server, caller: PageCaller, enrollment: EnrollmentCreated?) async throws -> Model {
        let now = pages.now
        let accountID = caller.account.id
        let jobs = try await pages.store.jobStatuses(accountID: accountID, serverIDs: [server.id])
        let runs = try await pages.store.runs(accountID: accountID, filter: RunFilter(serverID: server.id), after: nil, limit: 10).items
        let stackReport = try await pages.store.stackReport(accountID: accountID, serverID: server.id)
        let snapshots = try await pages.store.snapshots(accountID: accountID, filter: SnapshotFilter(serverID: server.id), after: nil, limit: 10)
            .items
        let online = server.isOnline(now: now)
        let names = Dictionary(uniqueKeysWithValues: jobs.map { ($0.id, $0.name) })
        let rows = jobs.sorted { $0.name < $1.name }.map { job in
            HubPage.JobRow(job, health: pages.hub.health(job, serverOnline: online, now: now), now: now)
        }
        return Model(
            layout: Layout(server.name, section: "hub", caller: caller),
            server: ServerInfo(
                id: server.id, name: server.name, online: online, enrolled: server.enrolledAt != nil,
                agentVersion: server.agentVersion ?? "—",
                outdated: server.enrolledAt != nil && pages.hub.agentBuilds.isOutdated(agentVersion: server.agentVersion) == true,
                fingerprint: server.keyFingerprint ?? "—",
                certified: server.certificate != nil, accountID: accountID, lastSeen: server.lastSeenAt.map { TimeView($0, now: now) },
                maxConcurrentRuns: server.maxConcurrentRuns.map(String.init) ?? ""),
            jobs: rows,
            runs: runs.map { RunRow($0, jobName: names[$0.jobID] ?? "deleted job", serverName: server.name, now: now) },
            snapshots: snapshots.map {
                SnapshotRow($0, jobName: names[$0.jobID] ?? "deleted job", serverName: server.name, destinations: [:], now: now)
            },
            enrollment: enrollment, stacks: stackReport.map { StacksView($0, serverID: server.id, now: now) })
    }
}

/// The Stacks section of a server page: what its agent last found on its Docker engine.
struct StacksView {
    struct StackRow {
        let project: String
        let directory: String
        let services: [ServiceRow]
        let volumes: [VolumeRow]
        let bindMounts: [String]
        let hasBindMounts: Bool
        /// The job form pre-filled with a stack job of this project.
        let protectLink: String
    }
    struct ServiceRow {
        let name: String
        let image: String
        let state: String
        let running: Bool
        let database: String?
    }
    struct VolumeRow {
        let name: String
        let size: String
        let excluded: Bool
    }
    let stacks: [StackRow]
    let hasStacks: Bool
    let error: String?
    let reported: TimeView?

    init(_ report: StackReport, serverID: String, now: Date) {
        stacks = report.stacks.map { stack in
            var link = URLComponents()
            link.path = "/backups/jobs/new"
            link.queryItems = [
                URLQueryItem(name: "server", value: serverID), URLQueryItem(name: "name", value: stack.project),
                URLQueryItem(name: "stack", value: stack.project),
            ]
            return StackRow(
                project: stack.project, directory: stack.directory ?? "—",
                services: stack.services.map {
                    ServiceRow(name: $0.name, image: $0.image, state: $0.state, running: $0.state == "running", database: $0.database?.rawValue)
                },
                volumes: stack.volumes.map {
                    VolumeRow(name: $0.name, size: $0.sizeBytes.map { WebFormat.bytes($0) } ?? "—", excluded: $0.excluded)
                },
                bindMounts: stack.bindMounts.map { "\($0.source) → \($0.service):\($0.destination)" },
                hasBindMounts: !stack.bindMounts.isEmpty, protectLink: link.string ?? "/backups/jobs/new")
        }
        hasStacks = !stacks.isEmpty
        error = report.error
        reported = report.reportedAt.map { TimeView($0, now: now) }
    }
}

/// A run in a table.
struct RunRow {
    let id: String
    let jobName: String
    let serverName: String
    let status: String
    let trigger: String
    let created: TimeView
    let duration: String
    let added: String
    /// The status in words: what a run waits for (`waiting for slot (position 1 …)`), or its status.
    let statusText: String

    init(_ run: Run, jobName: String, serverName: String, now: Date) {
        id = run.id
        self.jobName = jobName
        self.serverName = serverName
        status = run.status.rawValue
        statusText = run.statusText
        trigger = run.trigger.rawValue
        created = TimeView(run.createdAt, now: now)
        if let started = run.startedAt, let finished = run.finishedAt {
            duration = WebFormat.duration(finished.timeIntervalSince(started))
        } else {
            duration = "—"
        }
        added = WebFormat.bytes(run.bytesAdded)
    }
}

/// A snapshot in a table.
struct SnapshotRow {
    let id: String
    let jobName: String
    let serverName: String
    let created: TimeView
    let size: String
    let copies: String

    init(_ snapshot: Snapshot, jobName: String, serverName: String, destinations: [String: String], now: Date) {
        id = snapshot.id
        self.jobName = jobName
        self.serverName = serverName
        created = TimeView(snapshot.createdAt, now: now)
        size = WebFormat.bytes(snapshot.copies.map(\.bytesTotal).max() ?? 0)
        copies = snapshot.copies.map { destinations[$0.destinationID] ?? $0.destinationID }.joined(separator: ", ")
    }
}
