import BackupCore
import Foundation
import HTTPTypes
import HubAPI
import Hummingbird
import ServiceLifecycle
import Store

/// Runs: the fleet list, a run's page (live progress while it runs, then results and log), and
/// its server-sent event stream.
struct RunPages {
    let pages: WebPages

    struct ListModel {
        let layout: Layout
        let runs: [RunRow]
        let hasRuns: Bool
        let statuses: [JobForm.Option]
        let next: String?
    }
    struct DetailModel {
        let layout: Layout
        let id: String
        let jobID: String
        let jobName: String
        let serverName: String
        let status: String
        /// The status in words (what a run waits for, with its place in line).
        let statusText: String
        let live: Bool
        let percent: Int
        let trigger: String
        let created: TimeView
        let duration: String
        let results: [Result]
        let log: String?
        let snapshotID: String?
        let signature: String?
        let awaitingSignature: AwaitingSignature?
        /// Drill runs: what was restored and each check.
        let drill: Drill?
    }
    struct Drill {
        let summary: String
        let checks: [Check]
        let databases: [String]
    }
    struct Check {
        let name: String
        let passed: Bool
        let detail: String?
    }
    /// A restore the hub holds until it is signed (docs/sealing.md, "Signed restore orders").
    struct AwaitingSignature {
        let id: String
        let accountID: String
        let summary: String
    }
    struct Result {
        let destination: String
        let status: String
        let error: String?
        let added: String
        let processed: String
        let duration: String
    }

    /// One server-sent event: the run's status and live progress.
    struct Event: Encodable, Equatable {
        let status: String
        let finished: Bool
        let progress: RunProgress?
    }

    func register(on router: Router<HubRequestContext>) {
        router.page(.get, "/backups/runs", pages: pages) { request, _, caller in
            pages.render("runs", try await list(request, caller))
        }
        router.page(.get, "/backups/runs/{run}", pages: pages) { _, context, caller in
            guard let run = try await run(context, caller) else { return pages.notFound("The run", caller: caller) }
            return pages.render("run", try await detail(run, caller))
        }
        router.page(.get, "/backups/runs/{run}/events", pages: pages) { _, context, caller in
            guard let first = try await run(context, caller) else { return pages.notFound("The run", caller: caller) }
            let store = pages.store
            let accountID = caller.account.id
            // Each stream holds a connection for up to six hours: bounded per session and in all.
            let slots = pages.hub.streams
            let session = caller.csrf
            guard await slots.take(session: session) else {
                var headers = WebResponses.securityHeaders
                headers[.contentType] = "text/plain; charset=utf-8"
                headers[.retryAfter] = "30"
                return Response(
                    status: .tooManyRequests, headers: headers,
                    body: .init(byteBuffer: ByteBuffer(string: "Too many live views are open; close some of this hub's tabs and reload.")))
            }
            let body = ResponseBody { writer in
                do {
                    try await Self.stream(first, accountID: accountID, store: store, to: &writer)
                } catch {
                    await slots.release(session: session)
                    throw error
                }
                await slots.release(session: session)
            }
            var headers = WebResponses.securityHeaders
            headers[.contentType] = "text/event-stream"
            return Response(status: .ok, headers: headers, body: body)
        }
    }

    /// Writes the run's status whenever it changes, until it finishes (at most six hours). Woken by
    /// the store's run bell when an agent's event changes the run (on any replica, through
    /// PostgreSQL notifications); it reads the run again at the latest every 10 s, and writes a
    /// keep-alive comment then so proxies keep the stream open.
    static func stream(_ first: Run, accountID: String, store: any HubStore, to writer: inout any ResponseBodyWriter) async throws {
        var run = first
        let encoder = JSONEncoder()
        let until = ContinuousClock.now + .seconds(6 * 3600)
        var sent: Event?
        var generation = await store.runBell.generation(of: run.id)
        while ContinuousClock.now < until {
            let event = Event(status: run.status.rawValue, finished: run.status.isFinished, progress: run.progress)
            let text = event == sent ? ": waiting\n\n" : "data: " + String(decoding: try encoder.encode(event), as: UTF8.self) + "\n\n"
            try await writer.write(ByteBuffer(string: text))
            sent = event
            if run.status.isFinished { break }
            await store.runBell.waitWhileServing(for: run.id, since: generation, upTo: .seconds(10))
            if Task.isShuttingDownGracefully { break }
            // Noted before the read: a change committed after it wakes the next wait at once.
            generation = await store.runBell.generation(of: run.id)
            guard let next = try await store.run(accountID: accountID, id: run.id) else { break }
            run = next
        }
        try await writer.finish(nil)
    }

    func run(_ context: HubRequestContext, _ caller: PageCaller) async throws -> Run? {
        guard let id = context.parameters.get("run") else { return nil }
        return try await pages.store.run(accountID: caller.account.id, id: id)
    }

    func list(_ request: Request, _ caller: PageCaller) async throws -> ListModel {
        let accountID = caller.account.id
        let query = request.uri.queryParameters
        let status = query.get("status").flatMap(RunStatus.init(rawValue:))
        let cursor = query.get("cursor").flatMap { try? Cursor.parse($0) }
        let page = try await pages.store.runs(accountID: accountID, filter: RunFilter(status: status), after: cursor, limit: 50)
        let jobs = Dictionary(
            uniqueKeysWithValues: try await pages.store.jobs(accountID: accountID, serverID: nil, destinationID: nil).map { ($0.id, $0.name) })
        let servers = Dictionary(uniqueKeysWithValues: try await pages.store.servers(accountID: accountID).map { ($0.id, $0.name) })
        let now = pages.now
        let rows = page.items.map {
            RunRow($0, jobName: jobs[$0.jobID] ?? "deleted job", serverName: servers[$0.serverID] ?? "removed server", now: now)
        }
        return ListModel(
            layout: Layout("Runs", section: "runs", caller: caller), runs: rows, hasRuns: !rows.isEmpty,
            statuses: RunStatus.allCases.map { JobForm.Option(value: $0.rawValue, label: $0.rawValue, selected: $0 == status) },
            next: page.nextCursor.map { "/backups/runs?cursor=\($0.token)" + (status.map { "&status=\($0.rawValue)" } ?? "") })
    }

    func detail(_ run: Run, _ caller: PageCaller) async throws -> DetailModel {
        let accountID = caller.account.id
        let now = pages.now
        let job = try await pages.store.job(accountID: accountID, id: run.jobID)
        let server = try await pages.store.server(accountID: accountID, reference: run.serverID)
        let destinations = Dictionary(uniqueKeysWithValues: try await pages.store.destinations(accountID: accountID).map { ($0.id, $0.name) })
        let snapshot = try await pages.store.snapshot(accountID: accountID, runID: run.id)
        let duration = run.startedAt.map { WebFormat.duration((run.finishedAt ?? now).timeIntervalSince($0)) } ?? "—"
        return DetailModel(
            layout: Layout("Run of \(job?.name ?? "a deleted job")", section: "runs", caller: caller), id: run.id, jobID: run.jobID,
            jobName: job?.name ?? "deleted job", serverName: server?.name ?? "removed server", status: run.status.rawValue,
            statusText: run.progress?.waiting != nil && !run.status.isFinished ? (run.progress?.phase ?? run.statusText) : run.statusText,
            live: !run.status.isFinished, percent: Int(((run.progress?.percentDone ?? 0) * 100).rounded()), trigger: run.trigger.rawValue,
            created: TimeView(run.createdAt, now: now), duration: duration,
            results: run.results.map {
                Result(
                    destination: destinations[$0.destinationID] ?? $0.destinationID, status: $0.status.rawValue, error: $0.error,
                    added: WebFormat.bytes($0.bytesAdded), processed: WebFormat.bytes($0.bytesProcessed),
                    duration: $0.durationSeconds.map(WebFormat.duration) ?? "—")
            },
            log: run.logExcerpt, snapshotID: snapshot?.id, signature: run.signature?.state.rawValue,
            awaitingSignature: run.signature?.state == .awaiting && run.status == .queued
                ? AwaitingSignature(
                    id: run.id, accountID: accountID, summary: run.restore?.summary(onto: server?.name ?? run.serverID) ?? "restore \(run.id)")
                : nil,
            drill: run.results.first?.drill.map { evidence in
                Drill(
                    summary:
                        "Restored \(evidence.restoredFiles) of \(evidence.snapshotFiles) files (\(WebFormat.bytes(evidence.restoredBytes)) of \(WebFormat.bytes(evidence.snapshotBytes))) in \(WebFormat.duration(evidence.restoreSeconds))"
                        + (evidence.estimateText.map { "; this job \($0)" } ?? "") + ".",
                    checks: evidence.checks.map { Check(name: $0.name, passed: $0.passed, detail: $0.detail) },
                    databases: evidence.databases.map { database in
                        "\(database.engine.rawValue) \(database.name): " + (database.loaded ? "loaded" : "did not load")
                            + (database.tables.map { ", \($0) tables" } ?? "") + (database.rows.map { ", \($0.values.reduce(0, +)) rows" } ?? "")
                    })
            })
    }
}
