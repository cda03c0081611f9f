import BackupCore
import Foundation
import HubAPI
import Hummingbird
import Store

/// `/backups/snapshots/{snapshot}`: browse a copy folder by folder (listed once by the server,
/// then read from the hub), and restore it — here or elsewhere, on this server or another.
struct SnapshotPage {
    let pages: WebPages

    struct Model {
        let layout: Layout
        let id: String
        let jobName: String
        let serverName: String
        let created: TimeView
        let copies: [JobForm.Option]
        let destinationID: String
        let path: String
        let crumbs: [Crumb]
        let listing: Bool
        let listed: Int64
        /// Why the listing has not started (its server is offline).
        let waiting: String?
        let failed: String?
        let entries: [Row]
        let hasEntries: Bool
        let more: String?
        let servers: [JobForm.Option]
        /// The job's databases, each offered for restore (into its own name or another).
        let databases: [DatabaseChoice]
        let hasDatabases: Bool
        /// A stack snapshot: its stack → services → volumes/databases, and the stack restore form.
        let stack: StackView?
        let error: String?
    }
    struct StackView {
        struct Service {
            let name: String
            let volumes: [String]
            let dump: String?
        }
        let project: String
        let directory: String?
        let services: [Service]
        /// Bind mounts outside the project directory the snapshot holds.
        let bindMounts: [String]
        let volumes: [String]
        let hasVolumes: Bool
        let dumped: [String]
        let hasDumped: Bool

        init(_ contents: StackContents) {
            project = contents.project
            directory = contents.directory
            services = contents.services.map { Service(name: $0.name, volumes: $0.volumes, dump: $0.dump?.rawValue) }
            bindMounts = contents.bindMounts
            volumes = contents.volumes
            hasVolumes = !contents.volumes.isEmpty
            dumped = contents.dumpedServices
            hasDumped = !dumped.isEmpty
        }
    }
    struct DatabaseChoice {
        let index: Int
        let label: String
    }
    struct Crumb {
        let name: String
        let link: String
    }
    struct Row {
        let name: String
        let link: String?
        let download: String?
        let zip: String?
        let type: String
        let size: String
        let mode: String
        let modified: TimeView?
    }

    func register(on router: Router<HubRequestContext>) {
        router.page(.get, "/backups/snapshots/{snapshot}", pages: pages) { request, context, caller in
            let query = request.uri.queryParameters
            do {
                return pages.render(
                    "snapshot",
                    try await model(
                        context.parameters.get("snapshot") ?? "", path: query.get("path"), destination: query.get("destination"),
                        after: query.get("after"), caller: caller))
            } catch let error as DomainError where error.code == .notFound {
                return pages.notFound("The snapshot", caller: caller)
            }
        }
        router.page(.get, "/backups/snapshots/{snapshot}/download", pages: pages) { request, context, caller in
            let query = request.uri.queryParameters
            let snapshot = context.parameters.get("snapshot") ?? ""
            do {
                return try await DownloadService(hub: pages.hub).start(
                    snapshot: snapshot, path: query.get("path"), format: query.get("format"),
                    destination: query.get("destination"), accountID: caller.account.id, caller: context.caller
                )
                .response(relay: pages.hub.downloads)
            } catch let error as DomainError {
                return pages.render(
                    "message",
                    MessageModel(
                        layout: Layout("Download", section: "snapshots", caller: caller), title: "The download did not start",
                        message: error.message, back: "/backups/snapshots/\(snapshot)"), status: error.code == .notFound ? .notFound : .conflict)
            }
        }
        router.page(.post, "/backups/snapshots/{snapshot}/restore", pages: pages) { request, context, caller in
            let form = try await FormData.read(request)
            try caller.checkCSRF(form)
            let snapshot = context.parameters.get("snapshot") ?? ""
            let target = (form["target"] ?? "").trimmingSpaces
            let include = (form["include"] ?? "").trimmingSpaces
            do {
                if form.has("stack") {
                    let run = try await RestoreService(hub: pages.hub).restore(
                        Self.stackRequest(form, snapshot: snapshot), accountID: caller.account.id)
                    return WebResponses.redirect("/backups/runs/\(run.id)")
                }
                let databases = try await chosenDatabases(form, snapshot: snapshot, accountID: caller.account.id)
                let body = RestoreRequest(
                    snapshot: snapshot, destination: form["destination"], server: form["server"].flatMap { $0.isEmpty ? nil : $0 },
                    target: target.isEmpty ? nil : target,
                    include: !form.has("files") || include.isEmpty || include == "/" ? [] : [include],
                    files: form.has("files"), databases: databases, overwrite: form.has("overwrite"), dryRun: form.has("dryRun"))
                let run = try await RestoreService(hub: pages.hub).restore(body, accountID: caller.account.id)
                return WebResponses.redirect("/backups/runs/\(run.id)")
            } catch let error as DomainError where error.code != .notFound {
                return pages.render(
                    "snapshot",
                    try await model(
                        snapshot, path: include.isEmpty ? nil : include, destination: form["destination"], after: nil,
                        caller: caller, error: error.message), status: .badRequest)
            }
        }
    }

    /// The stack restore form: no volume and no database ticked restores the whole stack.
    static func stackRequest(_ form: FormData, snapshot: String) -> RestoreRequest {
        func text(_ key: String) -> String? {
            let value = (form[key] ?? "").trimmingSpaces
            return value.isEmpty ? nil : value
        }
        let options = StackRestoreOptions(
            project: text("project"), projectDirectory: text("projectDirectory"), volumes: form.all("volume"),
            databases: form.all("stackDatabase").map { StackRestoreOptions.Database(service: $0, into: text("stack-into-\($0)")) })
        return RestoreRequest(
            snapshot: snapshot, destination: form["destination"], server: text("server"), target: nil, include: nil, files: nil,
            databases: nil, overwrite: form.has("overwrite"), dryRun: form.has("dryRun"), stack: options)
    }

    /// The databases ticked in the restore form (`database` = index in the job's list, `into-N` = another name).
    func chosenDatabases(_ form: FormData, snapshot: String, accountID: String) async throws -> [DatabaseRestore] {
        let picked = form.all("database").compactMap(Int.init)
        guard !picked.isEmpty else { return [] }
        guard let found = try await pages.store.snapshot(accountID: accountID, id: snapshot),
            let job = try await pages.store.job(accountID: accountID, id: found.jobID)
        else { return [] }
        return picked.compactMap { index in
            guard job.sources.databases.indices.contains(index) else { return nil }
            let source = job.sources.databases[index]
            let into = (form["into-\(index)"] ?? "").trimmingSpaces
            return DatabaseRestore(engine: source.engine, name: source.name, into: into.isEmpty ? nil : into, connection: source.connection)
        }
    }

    func model(_ reference: String, path: String?, destination: String?, after: String?, caller: PageCaller, error: String? = nil) async throws
        -> Model
    {
        let accountID = caller.account.id
        let now = pages.now
        let tree = try await BrowseService(hub: pages.hub).tree(
            snapshot: reference, path: path, destination: destination.flatMap { $0.isEmpty ? nil : $0 },
            after: after, refresh: false, accountID: accountID)
        guard let snapshot = try await pages.store.snapshot(accountID: accountID, id: tree.snapshotID) else {
            throw DomainError(.notFound, "no snapshot \"\(reference)\" in this account")
        }
        let job = try await pages.store.job(accountID: accountID, id: snapshot.jobID)
        let servers = try await pages.store.servers(accountID: accountID)
        let destinations = Dictionary(uniqueKeysWithValues: try await pages.store.destinations(accountID: accountID).map { ($0.id, $0.name) })
        let base = "/backups/snapshots/\(snapshot.id)?destination=\(tree.destinationID)&path="
        let download = "/backups/snapshots/\(snapshot.id)/download?destination=\(tree.destinationID)&path="
        var crumbs = [Crumb(name: "/", link: base + "/")]
        var walked = ""
        for part in tree.path.split(separator: "/") {
            walked += "/" + part
            crumbs.append(Crumb(name: String(part), link: base + Self.escape(walked)))
        }
        // Folders first, then files, each by name (as file managers show them).
        let rows = tree.entries.sorted { ($0.type == "dir" ? 0 : 1, $0.name) < ($1.type == "dir" ? 0 : 1, $1.name) }.map { entry in
            Row(
                name: entry.name, link: entry.type == "dir" ? base + Self.escape(entry.path) : nil,
                download: ["file", "dir"].contains(entry.type) ? download + Self.escape(entry.path) : nil,
                zip: entry.type == "dir" ? download + Self.escape(entry.path) + "&format=zip" : nil, type: entry.type,
                size: entry.type == "dir" ? "" : WebFormat.bytes(entry.size), mode: entry.mode,
                modified: entry.modifiedAt.map { TimeView($0, now: now) })
        }
        return Model(
            layout: Layout("Snapshot \(snapshot.id)", section: "snapshots", caller: caller, refresh: tree.status == .listing ? 2 : nil),
            id: snapshot.id, jobName: job?.name ?? "deleted job", serverName: servers.first { $0.id == snapshot.serverID }?.name ?? "removed server",
            created: TimeView(snapshot.createdAt, now: now),
            copies: snapshot.copies.map {
                JobForm.Option(
                    value: $0.destinationID, label: destinations[$0.destinationID] ?? $0.destinationID,
                    selected: $0.destinationID == tree.destinationID)
            },
            destinationID: tree.destinationID, path: tree.path, crumbs: crumbs, listing: tree.status == .listing, listed: tree.listed,
            waiting: tree.status == .listing ? tree.error : nil,
            failed: tree.status == .failed ? (tree.error ?? "the listing failed") : nil, entries: rows, hasEntries: !rows.isEmpty,
            more: tree.nextAfter.map { base + Self.escape(tree.path) + "&after=" + Self.escape($0) },
            servers: servers.filter { $0.enrolledAt != nil }.sorted { $0.name < $1.name }
                .map { JobForm.Option(value: $0.id, label: $0.name, selected: $0.id == snapshot.serverID) },
            databases: (job?.sources.databases ?? []).enumerated().map {
                DatabaseChoice(index: $0.offset, label: "\($0.element.engine.rawValue) \($0.element.name)")
            },
            hasDatabases: !(job?.sources.databases.isEmpty ?? true), stack: snapshot.stack.map(StackView.init), error: error)
    }

    static func escape(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "/-._~"))) ?? text
    }
}
