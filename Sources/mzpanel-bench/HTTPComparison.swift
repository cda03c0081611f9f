import BackupCore
import ControlPlane
import Foundation
import HubAPI
import Hummingbird
import Logging
import ServiceLifecycle
import Store

/// A listing fetched over HTTP, and the store calls its handler makes (the SQL behind it).
struct Listing {
    let label: String
    let path: String
    let web: Bool
    /// Runs the store calls; answers what the API encodes (nil for pages), to time the encoding apart.
    let store: () async throws -> (any Encodable)?
}

/// Milliseconds of a duration.
func milliseconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15
}

/// The median and p95 of samples (sorted here).
func spread(_ samples: [Double]) -> (median: Double, p95: Double) {
    let sorted = samples.sorted()
    return (sorted[sorted.count / 2], sorted[max(0, Int((Double(sorted.count) * 0.95).rounded(.up)) - 1)])
}

/// Serves the hub on a loopback port and times each listing over HTTP (one kept-alive connection,
/// as a browser or the CLI uses) next to the store calls behind it, alternating the two in one run.
func compareHTTP(store: SQLHubStore, accountID: String, userID: String, repetitions: Int, logger: Logger) async throws {
    let now = Date()
    let tokenSecret = Secrets.make(prefix: Secrets.apiTokenPrefix)
    let sessionSecret = Secrets.make(prefix: Secrets.sessionPrefix)
    let token = APIToken(
        id: "tok_benchaaaaaaaaaaaaaaaaa", accountID: accountID, name: "bench", prefix: String(tokenSecret.prefix(8)), scope: .admin, createdAt: now)
    try await store.createAPIToken(token, hash: Secrets.hash(tokenSecret))
    try await store.createSession(
        WebSession(
            id: "ses_benchaaaaaaaaaaaaaaaaa", accountID: accountID, userID: userID, createdAt: now,
            expiresAt: now.addingTimeInterval(86_400)), hash: Secrets.hash(sessionSecret))
    let bearer = ["Authorization: Bearer \(tokenSecret)"]
    let cookie = ["Cookie: mzpanel_session=\(sessionSecret)"]

    // The jobs page shows its first 100 jobs by server name, job name; the store call for their documents takes those ids.
    let serverNames = Dictionary(uniqueKeysWithValues: try await store.servers(accountID: accountID).map { ($0.id, $0.name) })
    let shownJobs = try await store.jobStatuses(accountID: accountID, jobIDs: nil)
        .sorted { (serverNames[$0.serverID] ?? "", $0.name) < (serverNames[$1.serverID] ?? "", $1.name) }.prefix(100).map(\.id)
    let clock = SystemClock()

    // Each listing's store calls mirror its handler (ControlPlane/API/*Routes.swift, ControlPlane/Web/*Page*.swift).
    let listings: [Listing] = [
        Listing(label: "GET /api/v1/snapshots (50)", path: "/api/v1/snapshots?limit=50", web: false) {
            try await store.snapshots(accountID: accountID, filter: .init(), after: nil, limit: 50).items
        },
        Listing(label: "GET /api/v1/runs (50)", path: "/api/v1/runs?limit=50", web: false) {
            try await store.runs(accountID: accountID, filter: .init(), after: nil, limit: 50).items
        },
        Listing(label: "GET /api/v1/runs?status=failed (50)", path: "/api/v1/runs?status=failed&limit=50", web: false) {
            try await store.runs(accountID: accountID, filter: .init(status: .failed), after: nil, limit: 50).items
        },
        Listing(label: "GET /api/v1/servers (50)", path: "/api/v1/servers?limit=50", web: false) {
            let page = try await store.servers(accountID: accountID, after: nil, limit: 50)
            _ = try await store.jobStatuses(accountID: accountID, jobIDs: nil)
            return page.items
        },
        Listing(label: "GET /api/v1/jobs (50)", path: "/api/v1/jobs?limit=50", web: false) {
            let page = try await store.jobs(accountID: accountID, serverID: nil, destinationID: nil, after: nil, limit: 50)
            _ = try await store.jobStatuses(accountID: accountID, jobIDs: page.items.map(\.id))
            _ = try await store.servers(accountID: accountID, ids: page.items.map(\.serverID))
            return page.items
        },
        Listing(label: "GET /api/v1/fleet (counts)", path: "/api/v1/fleet", web: false) {
            try await store.fleetSummary(accountID: accountID, now: clock.now())
        },
        Listing(label: "GET /backups (hub page)", path: "/backups", web: true) {
            _ = try await store.servers(accountID: accountID)
            _ = try await store.jobStatuses(accountID: accountID, jobIDs: nil)
            _ = try await store.fleetSummary(accountID: accountID, now: clock.now())
            _ = try await store.runs(accountID: accountID, filter: RunFilter(status: .failed), after: nil, limit: 8)
            return nil
        },
        Listing(label: "GET /backups/jobs (100 rows)", path: "/backups/jobs", web: true) {
            _ = try await store.servers(accountID: accountID)
            _ = try await store.destinations(accountID: accountID)
            _ = try await store.jobStatuses(accountID: accountID, jobIDs: nil)
            _ = try await store.jobs(accountID: accountID, ids: shownJobs)
            return nil
        },
        Listing(label: "GET /backups/snapshots (50)", path: "/backups/snapshots", web: true) {
            _ = try await store.servers(accountID: accountID)
            _ = try await store.jobs(accountID: accountID, serverID: nil, destinationID: nil)
            _ = try await store.destinations(accountID: accountID)
            _ = try await store.snapshots(accountID: accountID, filter: .init(), after: nil, limit: 50)
            return nil
        },
        Listing(label: "GET /backups/destinations", path: "/backups/destinations", web: true) {
            _ = try await store.destinations(accountID: accountID)
            _ = try await store.jobs(accountID: accountID, serverID: nil, destinationID: nil)
            _ = try await store.servers(accountID: accountID)
            _ = try await store.jobStatuses(accountID: accountID, jobIDs: nil)
            _ = try await store.envelopes(accountID: accountID)
            return nil
        },
    ]

    var configuration = HubConfiguration()
    configuration.port = try HTTPClient.freePort()
    configuration.runScheduler = false
    let app = try buildApplication(hub: HubServices(store: store, clock: clock, configuration: configuration), logger: logger)
    let services = ServiceGroup(configuration: .init(services: [app], logger: logger))
    try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await services.run() }
        let client = HTTPClient(port: UInt16(configuration.port))
        try await client.waitUntilListening()

        // The HTTP stack's own cost: a route that makes no store call.
        var health: [Double] = []
        for round in 0..<(repetitions + 3) {
            let start = ContinuousClock.now
            _ = try client.get("/api/health", headers: [])
            if round >= 3 { health.append(milliseconds(ContinuousClock.now - start)) }
        }
        print(String(format: "  http: GET /api/health (no store call) %.2f ms median, %.2f ms p95", spread(health).median, spread(health).p95))

        // What every request adds before its handler runs: the caller's lookup (the API token's last use is written at most once a minute).
        var bearerAuth: [Double] = []
        var sessionAuth: [Double] = []
        for _ in 0..<repetitions {
            let start = ContinuousClock.now
            if let found = try await store.apiToken(hash: Secrets.hash(tokenSecret)), found.shouldRecordUse(at: clock.now()) {
                try await store.touchAPIToken(id: found.id, at: clock.now())
            }
            let middle = ContinuousClock.now
            if let session = try await store.session(hash: Secrets.hash(sessionSecret), now: clock.now()) {
                _ = try await store.account(id: session.accountID)
            }
            bearerAuth.append(milliseconds(middle - start))
            sessionAuth.append(milliseconds(ContinuousClock.now - middle))
        }
        let bearerCost = spread(bearerAuth).median
        let sessionCost = spread(sessionAuth).median
        print(String(format: "  http: caller lookup per request: API token %.2f ms, web session %.2f ms (store, median)", bearerCost, sessionCost))
        print(
            "  " + "listing over HTTP".padding(toLength: 38, withPad: " ", startingAt: 0)
                + "   HTTP median     p95 |  SQL median     p95 | ratio | incl. caller lookup | encoding the store's items")
        for listing in listings {
            let headers = listing.web ? cookie : bearer
            var bytes = 0
            for _ in 0..<3 {  // warm-up: caches, connection, first-use allocations
                bytes = try client.get(listing.path, headers: headers)
                _ = try await listing.store()
            }
            var http: [Double] = []
            var sql: [Double] = []
            var encoding: [Double] = []
            for _ in 0..<repetitions {
                let start = ContinuousClock.now
                _ = try client.get(listing.path, headers: headers)
                let middle = ContinuousClock.now
                let value = try await listing.store()
                let stored = ContinuousClock.now
                if let value { _ = try HubJSON.encoder().encode(value) }
                http.append(milliseconds(middle - start))
                sql.append(milliseconds(stored - middle))
                encoding.append(milliseconds(ContinuousClock.now - stored))
            }
            let h = spread(http)
            let s = spread(sql)
            let e = spread(encoding).median
            let lookup = listing.web ? sessionCost : bearerCost
            print(
                "  " + "\(listing.label) \(bytes / 1024) KiB".padding(toLength: 38, withPad: " ", startingAt: 0)
                    + String(
                        format: " %8.2f ms %7.2f | %7.2f ms %7.2f | %4.1f× | %4.1f×", h.median, h.p95, s.median, s.p95, h.median / s.median,
                        h.median / (s.median + lookup)) + (listing.web ? "" : String(format: " | JSON %.2f ms", e)))
        }
        await services.triggerGracefulShutdown()
        try await group.waitForAll()
    }
}
