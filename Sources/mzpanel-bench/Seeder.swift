import BackupCore
import Foundation
import SQLKit
import Store

/// Fills a hub database with a synthetic fleet using multi-row inserts (fast, unlike the
/// one-row-per-statement paths the hub itself uses).
struct Seeder {
    let backend: SQLBackend
    let accountID: String
    let servers: Int
    let jobsPerServer: Int
    let snapshots: Int
    let destinations = ["dst_benchlocalaaaaaaaaaaaa", "dst_benchobjectaaaaaaaaaaa"]
    var userID: String { "usr_benchaaaaaaaaaaaaaaaaa" }

    func insert(_ table: String, _ columns: [String], _ rows: [[any Encodable & Sendable]]) async throws {
        for start in stride(from: 0, to: rows.count, by: 400) {
            let chunk = Array(rows[start..<min(start + 400, rows.count)])
            try await backend.withDatabase { db in
                var query = SQLQueryString("INSERT INTO \(unsafeRaw: table) (\(unsafeRaw: columns.joined(separator: ", "))) VALUES ")
                for (index, row) in chunk.enumerated() {
                    if index > 0 { query = query + ", " }
                    query = query + "(" + SQLQueryString("\(binds: row)") + ")"
                }
                try await db.raw(query).run()
            }
        }
    }

    func run(store: SQLHubStore) async throws -> (serverIDs: [String], jobIDs: [String]) {
        let start = Date(timeIntervalSince1970: 1_700_000_000)
        // The user owns the web session the HTTP comparison browses with.
        try await store.createAccount(
            Account(id: accountID, name: "bench", plan: .plus, createdAt: start),
            user: User(id: userID, accountID: accountID, email: "bench@example.com", passwordHash: "-", createdAt: start))
        try await store.createAccount(Account(id: "acc_benchotheraaaaaaaaaaa", name: "other", plan: .plus, createdAt: start), user: nil)
        let ms = start.millisecondsSince1970
        for (index, id) in destinations.enumerated() {
            try await store.createDestination(
                Destination(
                    id: id, accountID: accountID, name: "dest-\(index)", kind: index == 0 ? .local : .s3,
                    settings: DestinationSettings(path: "/srv/b"), createdAt: start, updatedAt: start))
        }
        let serverIDs = (0..<servers).map { String(format: "srv_bench%011d", $0) }
        try await insert("servers", ["id", "account_id", "name", "created_at"], serverIDs.enumerated().map { [$1, accountID, "server-\($0)", ms] })
        var jobIDs: [String] = []
        var jobRows: [[any Encodable & Sendable]] = []
        var linkRows: [[any Encodable & Sendable]] = []
        let sources = try String(decoding: JSONEncoder().encode(JobSources(paths: ["/var/www"])), as: UTF8.self)
        let retention = try String(decoding: JSONEncoder().encode(RetentionPolicy(keepDaily: 7)), as: UTF8.self)
        for (serverIndex, serverID) in serverIDs.enumerated() {
            for jobIndex in 0..<jobsPerServer {
                let id = String(format: "job_bench%011d", serverIndex * jobsPerServer + jobIndex)
                jobIDs.append(id)
                // Varied schedules (hours, minutes, zones) so no page can get away with computing one schedule.
                let calendar = String(format: "*-*-* %02d:%02d:00", (jobIndex * 5 + serverIndex) % 24, (serverIndex * 7 + jobIndex) % 60)
                let zone = ["UTC", "Europe/Berlin", "America/New_York", "Asia/Tokyo"][(serverIndex + jobIndex) % 4]
                jobRows.append([id, accountID, serverID, "job-\(jobIndex)", "full", sources, calendar, zone, retention, 1, ms, ms])
                linkRows.append([id, destinations[0], accountID, 0])
                linkRows.append([id, destinations[1], accountID, 1])
            }
        }
        try await insert(
            "jobs",
            [
                "id", "account_id", "server_id", "name", "kind", "sources", "schedule_calendar", "schedule_time_zone",
                "retention", "enabled", "created_at", "updated_at",
            ], jobRows)
        try await insert("job_destinations", ["job_id", "destination_id", "account_id", "position"], linkRows)

        let results = try String(
            decoding: JSONEncoder().encode([DestinationResult(destinationID: destinations[0], status: .succeeded)]), as: UTF8.self)
        var runRows: [[any Encodable & Sendable]] = []
        var runLinks: [[any Encodable & Sendable]] = []
        var snapshotRows: [[any Encodable & Sendable]] = []
        var copyRows: [[any Encodable & Sendable]] = []
        for index in 0..<snapshots {
            let job = jobIDs[index % jobIDs.count]
            let server = serverIDs[(index % jobIDs.count) / jobsPerServer]
            let created = ms + Int64(index) * 60_000
            let runID = String(format: "run_bench%011d", index)
            let snapshotID = String(format: "snp_bench%011d", index)
            let status = index % 17 == 0 ? "failed" : "succeeded"
            runRows.append([runID, accountID, server, job, "timer", created, status, created, created, created + 30_000, 1000, 5000, 10, results])
            snapshotRows.append([snapshotID, accountID, server, job, runID, created, 5000])
            for destination in destinations {
                runLinks.append([runID, destination, accountID, created])
                copyRows.append([snapshotID, destination, accountID, created, "[\"abcd1234\"]", 1000, 5000])
            }
            if runRows.count >= 4000 || index == snapshots - 1 {
                try await insert(
                    "runs",
                    [
                        "id", "account_id", "server_id", "job_id", "trigger", "slot", "status", "created_at", "started_at",
                        "finished_at", "bytes_added", "bytes_processed", "files_new", "results",
                    ], runRows)
                try await insert("run_destinations", ["run_id", "destination_id", "account_id", "created_at"], runLinks)
                try await insert("snapshots", ["id", "account_id", "server_id", "job_id", "run_id", "created_at", "bytes_total"], snapshotRows)
                try await insert(
                    "snapshot_copies", ["snapshot_id", "destination_id", "account_id", "created_at", "restic_ids", "bytes_added", "bytes_total"],
                    copyRows)
                runRows = []
                runLinks = []
                snapshotRows = []
                copyRows = []
            }
        }
        // What ingestion maintains: each job's newest snapshot size and newest run.
        try await backend.withDatabase { db in
            try await db.raw("UPDATE jobs SET protected_bytes = 5000, protected_at = \(bind: ms)").run()
            for statement in SQLHubStore.latestRunBackfill { try await db.raw(SQLQueryString(statement)).run() }
            try await db.raw("ANALYZE").run()
        }
        return (serverIDs, jobIDs)
    }
}
