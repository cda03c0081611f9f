import BackupCore
import ControlPlane
import Foundation
import HubAPI
import Logging
import SQLKit
import Store

// Seeds a synthetic fleet and prints the latency of the hub's fleet listings (store query plus
// JSON encoding, as the API does) on SQLite and, when MZPANEL_BENCH_POSTGRES_URL is set, PostgreSQL.
//   swift run -c release mzpanel-bench [servers] [jobs-per-server] [snapshots]
let arguments = CommandLine.arguments.dropFirst().compactMap { Int($0) }
let servers = arguments.count > 0 ? arguments[0] : 1_000
let jobsPerServer = arguments.count > 1 ? arguments[1] : 10
let snapshotCount = arguments.count > 2 ? arguments[2] : 100_000
let repetitions = 30
var logger = Logger(label: "bench")
logger.logLevel = ProcessInfo.processInfo.environment["BENCH_TRACE"] != nil ? .trace : .warning

func measure(_ label: String, _ body: () async throws -> Int) async throws {
    var samples: [Double] = []
    var items = 0
    for _ in 0..<repetitions {
        let start = ContinuousClock.now
        items = try await body()
        let elapsed = ContinuousClock.now - start
        samples.append(Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15)
    }
    samples.sort()
    let median = samples[samples.count / 2]
    let p95 = samples[Int(Double(samples.count) * 0.95) - 1]
    print(
        "  " + label.padding(toLength: 40, withPad: " ", startingAt: 0)
            + String(format: "%8.2f ms median  %8.2f ms p95  (%d items)", median, p95, items))
}

func encode(_ value: some Encodable) throws -> Int { try HubJSON.encoder().encode(value).count > 0 ? 1 : 0 }

func bench(_ name: String, store: SQLHubStore) async throws {
    let account = "acc_benchaccountaaaaaaaa"
    let seedStart = ContinuousClock.now
    let seeder = Seeder(backend: store.backend, accountID: account, servers: servers, jobsPerServer: jobsPerServer, snapshots: snapshotCount)
    let seeded = try await seeder.run(store: store)
    print(
        "\(name): seeded \(servers) servers, \(servers * jobsPerServer) jobs, \(snapshotCount) snapshots with \(snapshotCount * 2) copies and \(snapshotCount) runs in \(ContinuousClock.now - seedStart)"
    )
    let server = seeded.serverIDs[servers / 2]
    let job = seeded.jobIDs[seeded.jobIDs.count / 3]
    let destination = "dst_benchobjectaaaaaaaaaaa"
    // A deep cursor: the position half way down the whole snapshot history.
    let deep = Cursor(
        createdAt: Date(millisecondsSince1970: 1_700_000_000_000 + Int64(snapshotCount / 2) * 60_000),
        id: String(format: "snp_bench%011d", snapshotCount / 2))
    let deepRun = Cursor(createdAt: deep.createdAt, id: String(format: "run_bench%011d", snapshotCount / 2))
    let webOnly = ProcessInfo.processInfo.environment["BENCH_WEB_ONLY"] != nil  // skip the listings, time only the pages
    if !webOnly {
        try await measure("snapshots: first page (50)") {
            let page = try await store.snapshots(accountID: account, filter: .init(), after: nil, limit: 50)
            _ = try encode(page.items)
            return page.items.count
        }
        try await measure("snapshots: server filter") {
            let page = try await store.snapshots(accountID: account, filter: .init(serverID: server), after: nil, limit: 50)
            _ = try encode(page.items)
            return page.items.count
        }
        try await measure("snapshots: job filter") {
            let page = try await store.snapshots(accountID: account, filter: .init(jobID: job), after: nil, limit: 50)
            _ = try encode(page.items)
            return page.items.count
        }
        try await measure("snapshots: destination filter") {
            let page = try await store.snapshots(accountID: account, filter: .init(destinationID: destination), after: nil, limit: 50)
            _ = try encode(page.items)
            return page.items.count
        }
        try await measure("snapshots: deep cursor (half way)") {
            let page = try await store.snapshots(accountID: account, filter: .init(), after: deep, limit: 50)
            _ = try encode(page.items)
            return page.items.count
        }
        try await measure("snapshots: destination + deep cursor") {
            let page = try await store.snapshots(accountID: account, filter: .init(destinationID: destination), after: deep, limit: 50)
            _ = try encode(page.items)
            return page.items.count
        }
        try await measure("runs: first page (50)") {
            let page = try await store.runs(accountID: account, filter: .init(), after: nil, limit: 50)
            _ = try encode(page.items)
            return page.items.count
        }
        try await measure("runs: status=failed") {
            let page = try await store.runs(accountID: account, filter: .init(status: .failed), after: nil, limit: 50)
            _ = try encode(page.items)
            return page.items.count
        }
        try await measure("runs: destination filter + deep cursor") {
            let page = try await store.runs(accountID: account, filter: .init(destinationID: destination), after: deepRun, limit: 50)
            _ = try encode(page.items)
            return page.items.count
        }
        try await measure("servers: first page (50)") {
            let page = try await store.servers(accountID: account, after: nil, limit: 50)
            _ = try encode(page.items)
            return page.items.count
        }
        try await measure("servers: deep cursor (half way)") {
            let page = try await store.servers(
                accountID: account,
                after: Cursor(createdAt: Date(millisecondsSince1970: 1_700_000_000_000), id: String(format: "srv_bench%011d", servers / 2)), limit: 50
            )
            _ = try encode(page.items)
            return page.items.count
        }
        try await measure("jobs: one server's") {
            let list = try await store.jobs(accountID: account, serverID: server, destinationID: nil)
            _ = try encode(list)
            return list.count
        }
        try await measure("jobs: first page (50)") {
            let page = try await store.jobs(accountID: account, serverID: nil, destinationID: nil, after: nil, limit: 50)
            _ = try encode(page.items)
            return page.items.count
        }
        try await measure("jobs: destination filter") {
            let page = try await store.jobs(accountID: account, serverID: nil, destinationID: destination, after: nil, limit: 50)
            _ = try encode(page.items)
            return page.items.count
        }
        // The hub page reads the whole fleet: on PostgreSQL the store decodes these rows by static
        // type; the same rows through SQLKit's generic decoding are timed next to it for the ratio.
        try await measure("servers: whole fleet") { try await store.servers(accountID: account).count }
        try await measure("servers: whole fleet, SQLKit decoding") {
            try await store.backend.withDatabase { db in
                try await db.raw("SELECT * FROM servers WHERE account_id = \(bind: account) ORDER BY name").all().map(GenericDecoding.server).count
            }
        }
        try await measure("job statuses: whole fleet") { try await store.jobStatuses(accountID: account).count }
        try await measure("fleet summary") {
            let summary = try await store.fleetSummary(accountID: account, now: Date())
            _ = try encode(summary)
            return summary.snapshots
        }
    }

    // The web hub's pages rendered server-side (store queries + view model + Mustache), and how
    // many times each uses the database (constant whatever the fleet's size).
    let renderer = try WebRenderer(hub: HubServices(store: store, clock: SystemClock(), configuration: HubConfiguration()))
    let parts = try await renderer.profileHub(accountID: account)
    print(String(format: "  web: hub page parts: store + view model %.1f ms, template %.1f ms", parts.model, parts.render))
    for page in ["hub", "jobs", "snapshots", "destinations"] {
        let before = store.backend.operations
        let bytes = try await renderer.render(page, accountID: account)
        let used = store.backend.operations - before
        try await measure("web: /backups\(page == "hub" ? "" : "/" + page) (\(used) db calls, \(bytes / 1024) KiB)") {
            try await renderer.render(page, accountID: account)
        }
    }

    // The same listings served over HTTP by the hub itself, next to the store calls behind them.
    try await compareHTTP(store: store, accountID: account, userID: seeder.userID, repetitions: repetitions, logger: logger)

    // Browsing: one snapshot copy listed with 100,000 entries (100 folders of 999 files, uploaded
    // in parts as the agent does), then one folder of 999 entries at a time.
    let listed = String(format: "snp_bench%011d", 0)
    try await store.startListing(accountID: account, snapshotID: listed, destinationID: destination, serverID: seeded.serverIDs[0], now: Date())
    var entries: [SnapshotEntry] = []
    for folder in 0..<100 {
        let parent = String(format: "/srv/site/d%03d", folder)
        entries.append(
            SnapshotEntry(parent: "/srv/site", name: String(format: "d%03d", folder), type: "dir", size: 0, mode: 0o755, modifiedAt: Date()))
        for file in 0..<999 {
            entries.append(
                SnapshotEntry(
                    parent: parent, name: String(format: "file-%04d.php", file), type: "file", size: Int64(file * 37), mode: 0o644, modifiedAt: Date()
                ))
        }
    }
    let uploadStart = ContinuousClock.now
    for start in stride(from: 0, to: entries.count, by: 5000) {
        let part = Array(entries[start..<min(start + 5000, entries.count)])
        _ = try await store.appendListing(
            serverID: seeded.serverIDs[0], snapshotID: listed, destinationID: destination, entries: part,
            done: start + 5000 >= entries.count, error: nil, now: Date())
    }
    print("  browse: stored a listing of \(entries.count) entries in \(ContinuousClock.now - uploadStart)")
    try await measure("browse: one folder (API code)") {
        try await renderer.browse(accountID: account, snapshotID: listed, destinationID: destination, path: "/srv/site/d050", page: false)
    }
    try await measure("browse: snapshot page (HTML)") {
        try await renderer.browse(accountID: account, snapshotID: listed, destinationID: destination, path: "/srv/site/d050", page: true)
    }
}

let directory = FileManager.default.temporaryDirectory.appendingPathComponent("mzpanel-bench-\(UUID().uuidString)")
try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
let sqlite = try await SQLHubStore.open(database: nil, sqlitePath: directory.appendingPathComponent("hub.sqlite").path, logger: logger)
try await bench("SQLite", store: sqlite)
await sqlite.shutdown()
try? FileManager.default.removeItem(at: directory)

if let url = ProcessInfo.processInfo.environment["MZPANEL_BENCH_POSTGRES_URL"] {
    // The benchmark needs an empty database: it drops and recreates the public schema.
    let backend = try await SQLBackend.postgres(url: url, logger: logger)
    try await backend.withDatabase { db in
        try await db.raw("DROP SCHEMA public CASCADE").run()
        try await db.raw("CREATE SCHEMA public").run()
    }
    let postgres = try await SQLHubStore(backend: backend)
    try await bench("PostgreSQL", store: postgres)
    await postgres.shutdown()
} else {
    print("PostgreSQL: skipped (set MZPANEL_BENCH_POSTGRES_URL to an empty database's URL)")
}
