import BackupCore
import Foundation
import Hummingbird
import Store

/// All snapshots, filtered by server, job, destination and date, newest first, 50 per page.
struct SnapshotsPage {
    let pages: WebPages

    struct Model {
        let layout: Layout
        let snapshots: [SnapshotRow]
        let hasSnapshots: Bool
        let servers: [JobForm.Option]
        let jobs: [JobForm.Option]
        let destinations: [JobForm.Option]
        let since: String
        let until: String
        let error: String?
        let next: String?
    }

    func register(on router: Router<HubRequestContext>) {
        router.page(.get, "/backups/snapshots", pages: pages) { request, _, caller in
            pages.render("snapshots", try await model(request, caller))
        }
    }

    func model(_ request: Request, _ caller: PageCaller) async throws -> Model {
        let accountID = caller.account.id
        let query = request.uri.queryParameters
        func value(_ name: String) -> String? { query.get(name).flatMap { $0.isEmpty ? nil : $0 } }
        let servers = try await pages.store.servers(accountID: accountID)
        let jobs = try await pages.store.jobs(accountID: accountID, serverID: nil, destinationID: nil)
        let destinations = try await pages.store.destinations(accountID: accountID)
        var error: String?
        func day(_ name: String, end: Bool) -> Date? {
            guard let text = value(name) else { return nil }
            let formatter = DateFormatter()
            formatter.locale = Locale(identifier: "en_US_POSIX")
            formatter.timeZone = TimeZone(identifier: "UTC")
            formatter.dateFormat = "yyyy-MM-dd"
            guard let date = formatter.date(from: text) else {
                error = "\"\(text)\" is not a date; use YYYY-MM-DD"
                return nil
            }
            return end ? date.addingTimeInterval(86_400) : date
        }
        let filter = SnapshotFilter(
            serverID: value("server"), jobID: value("job"), destinationID: value("destination"),
            since: day("since", end: false), until: day("until", end: true))
        let cursor = value("cursor").flatMap { try? Cursor.parse($0) }
        let page = try await pages.store.snapshots(accountID: accountID, filter: filter, after: cursor, limit: 50)
        let now = pages.now
        let jobNames = Dictionary(uniqueKeysWithValues: jobs.map { ($0.id, $0.name) })
        let serverNames = Dictionary(uniqueKeysWithValues: servers.map { ($0.id, $0.name) })
        let destinationNames = Dictionary(uniqueKeysWithValues: destinations.map { ($0.id, $0.name) })
        let rows = page.items.map {
            SnapshotRow(
                $0, jobName: jobNames[$0.jobID] ?? "deleted job", serverName: serverNames[$0.serverID] ?? "removed server",
                destinations: destinationNames, now: now)
        }
        var next: String?
        if let token = page.nextCursor?.token {
            var items = [URLQueryItem(name: "cursor", value: token)]
            for name in ["server", "job", "destination", "since", "until"] {
                if let v = value(name) { items.append(URLQueryItem(name: name, value: v)) }
            }
            var components = URLComponents()
            components.path = "/backups/snapshots"
            components.queryItems = items
            next = components.string
        }
        return Model(
            layout: Layout("Snapshots", section: "snapshots", caller: caller), snapshots: rows, hasSnapshots: !rows.isEmpty,
            servers: servers.sorted { $0.name < $1.name }.map { JobForm.Option(value: $0.id, label: $0.name, selected: $0.id == filter.serverID) },
            jobs: jobs.sorted { $0.name < $1.name }.map {
                JobForm.Option(value: $0.id, label: "\($0.name) (\(serverNames[$0.serverID] ?? "?"))", selected: $0.id == filter.jobID)
            },
            destinations: destinations.map { JobForm.Option(value: $0.id, label: $0.name, selected: $0.id == filter.destinationID) },
            since: value("since") ?? "", until: value("until") ?? "", error: error, next: next)
    }
}
