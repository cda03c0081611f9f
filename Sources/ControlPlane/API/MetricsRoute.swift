import BackupCore
import Foundation
import Hummingbird
import Store

/// `GET /metrics`: Prometheus text format for the caller's account (a token with the `metrics`
/// scope, which opens nothing else, or any wider one: `bearer_token` in the scrape config). Names follow OpenTelemetry's conventions
/// (`mzpanel.job.last_success.time` → `mzpanel_job_last_success_time_seconds`).
struct MetricsRoute {
    let hub: HubServices

    func register(on api: inout APIRouter) {
        api.on(
            .get, "/metrics", summary: "Prometheus metrics of the caller's account (jobs, runs, agents)", tag: "meta", scope: .metrics,
            response: "Text",
            metrics)
    }

    @Sendable func metrics(_ request: Request, _ context: HubRequestContext) async throws -> some ResponseGenerator {
        let text = try await render(accountID: try context.accountID())
        return Response(
            status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    func render(accountID: String) async throws -> String {
        let now = hub.clock.now()
        let servers = try await hub.store.servers(accountID: accountID)
        let jobs = try await hub.store.jobStatuses(accountID: accountID, jobIDs: nil)
        let lastRuns = try await hub.store.lastRuns(accountID: accountID, jobIDs: jobs.map(\.id))
        let unfinished = try await hub.store.unfinishedRunCounts(accountID: accountID)
        let queued = unfinished[.queued] ?? 0
        let running = unfinished[.running] ?? 0
        let serverNames = Dictionary(uniqueKeysWithValues: servers.map { ($0.id, $0.name) })
        let online = Dictionary(uniqueKeysWithValues: servers.map { ($0.id, $0.isOnline(now: now)) })

        var out = PrometheusText()
        out.family("mzpanel_agents_connected", "gauge", "Servers whose agent was heard from in the last 90 seconds.")
        out.sample("mzpanel_agents_connected", [:], Double(online.values.filter { $0 }.count))
        out.family("mzpanel_servers", "gauge", "Servers of the account.")
        out.sample("mzpanel_servers", [:], Double(servers.count))
        out.family("mzpanel_run_queue", "gauge", "Runs waiting for their agent (queued) or in progress (running).")
        out.sample("mzpanel_run_queue", ["state": "queued"], Double(queued))
        out.sample("mzpanel_run_queue", ["state": "running"], Double(running))

        func labels(_ job: JobStatus) -> [String: String] {
            ["job": job.name, "job_id": job.id, "server": serverNames[job.serverID] ?? job.serverID]
        }
        out.family("mzpanel_job_health", "gauge", "1 for the job's current health state.")
        for job in jobs {
            let health = hub.health(job, serverOnline: online[job.serverID] ?? false, now: now)
            out.sample("mzpanel_job_health", labels(job).merging(["state": health.rawValue]) { a, _ in a }, 1)
        }
        out.family("mzpanel_job_last_success_time_seconds", "gauge", "Unix time of the job's newest snapshot (a run with at least one copy).")
        for job in jobs {
            if let at = job.newestSnapshotAt { out.sample("mzpanel_job_last_success_time_seconds", labels(job), at.timeIntervalSince1970) }
        }
        out.family("mzpanel_job_last_run_status", "gauge", "1 for the status of the job's newest run.")
        out.family("mzpanel_job_last_run_duration_seconds", "gauge", "How long the job's newest finished run took.")
        out.family("mzpanel_job_last_run_added_bytes", "gauge", "Bytes the newest run added to its destinations.")
        out.family("mzpanel_job_last_run_processed_bytes", "gauge", "Bytes the newest run read from the server.")
        for job in jobs {
            guard let run = lastRuns[job.id] else { continue }
            out.sample("mzpanel_job_last_run_status", labels(job).merging(["status": run.status.rawValue]) { a, _ in a }, 1)
            if let started = run.startedAt, let finished = run.finishedAt {
                out.sample("mzpanel_job_last_run_duration_seconds", labels(job), finished.timeIntervalSince(started))
            }
            out.sample("mzpanel_job_last_run_added_bytes", labels(job), Double(run.bytesAdded))
            out.sample("mzpanel_job_last_run_processed_bytes", labels(job), Double(run.bytesProcessed))
        }
        out.family("mzpanel_job_protected_bytes", "gauge", "Size of the job's newest snapshot.")
        for job in jobs { if job.protectedBytes > 0 { out.sample("mzpanel_job_protected_bytes", labels(job), Double(job.protectedBytes)) } }
        return out.text
    }
}

/// The Prometheus text exposition format (0.0.4): per family `# HELP`, `# TYPE`, then its samples
/// (grouped, as the format requires), labels escaped.
struct PrometheusText {
    private var order: [String] = []
    private var families: [String: (type: String, help: String, samples: [String])] = [:]

    mutating func family(_ name: String, _ type: String, _ help: String) {
        guard families[name] == nil else { return }
        order.append(name)
        families[name] = (type, help, [])
    }

    mutating func sample(_ name: String, _ labels: [String: String], _ value: Double) {
        let rendered = labels.sorted { $0.key < $1.key }.map { "\($0.key)=\"\(Self.escape($0.value))\"" }.joined(separator: ",")
        let number = value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)
        families[name]?.samples.append(name + (rendered.isEmpty ? "" : "{\(rendered)}") + " " + number)
    }

    var text: String {
        order.map { name in
            let family = families[name]!
            return (["# HELP \(name) \(family.help)", "# TYPE \(name) \(family.type)"] + family.samples).joined(separator: "\n")
        }.joined(separator: "\n") + "\n"
    }

    static func escape(_ value: String) -> String {
        value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"").replacingOccurrences(of: "\n", with: "\\n")
    }
}
