import BackupCore
import Foundation
import HubAPI
import Hummingbird
import LinkProtocol
import Store

/// Destinations: the list (kind, who uses them, space), the add form that seals in the page, and a
/// destination's page with "use on another server" (attach).
struct DestinationPages {
    let pages: WebPages

    struct Row {
        let id: String
        let name: String
        let kind: String
        let location: String
        let jobs: String
        let servers: String
        let used: String
    }
    struct ListModel {
        let layout: Layout
        let rows: [Row]
        let hasRows: Bool
    }
    struct KindChoice {
        let value: String
        let title: String
        let gated: Bool
        let checked: Bool
    }
    struct ServerChoice {
        let id: String
        let name: String
        let publicKey: String
        let keyID: String
    }
    struct FormModel {
        let layout: Layout
        let accountID: String
        let kinds: [KindChoice]
        let plus: Bool
        let servers: [JobForm.Option]
        let sealable: [ServerChoice]
        let hasSealable: Bool
        /// "present" or "none": the page knows without asking the API (no 404 in the browser's console).
        let vault: String
    }
    struct DetailModel {
        let layout: Layout
        let accountID: String
        let id: String
        let name: String
        let kind: String
        let kindTitle: String
        let offsite: Bool
        let location: String
        let jobs: [String]
        let sealedTo: [String]
        let attachable: [ServerChoice]
        /// Peer: the servers sealed to it, whose repository a new server may take over (disaster recovery).
        let recoverable: [ServerChoice]
        let hasRecoverable: Bool
        let hasAttachable: Bool
        let peer: PeerView?
        let signature: SignatureView
        /// The cap on concurrent runs and who holds or waits for its slots now, in words (nil: no cap).
        let concurrency: String?
        let slots: [String]
        /// Repository statistics (nil before the first measurement).
        let stats: StatsView?
    }
    struct StatsView {
        let total: String
        let stored: String
        let growth: String
        let snapshots: Int
        let chart: String
    }
    struct EditModel {
        let layout: Layout
        let id: String
        let name: String
        let kindTitle: String
        let settings: DestinationSettings
        let isLocal, isS3, isB2, isRclone, isPeer: Bool
        let pathStyle: Bool
        /// The cap on concurrent runs as typed ("" = none).
        let maxConcurrentRuns: String
        let error: String?
        let errorField: String?
    }
    struct PeerView {
        let listening: Bool
        let free: String
        let used: String
        let error: String?
        let reported: TimeView?
    }

    func register(on router: Router<HubRequestContext>) {
        router.page(.get, "/backups/destinations", pages: pages) { _, _, caller in
            pages.render("destinations", try await list(caller))
        }
        router.page(.get, "/backups/destinations/new", pages: pages) { _, _, caller in
            let servers = try await pages.store.servers(accountID: caller.account.id).sorted { $0.name < $1.name }
            let plan = caller.account.plan
            return pages.render(
                "destination-form",
                FormModel(
                    layout: Layout("Add destination", section: "destinations", caller: caller), accountID: caller.account.id,
                    kinds: DestinationKind.allCases.map {
                        KindChoice(value: $0.rawValue, title: $0.title, gated: !plan.allows($0), checked: $0 == .local)
                    },
                    plus: plan.allows(.s3), servers: servers.map { JobForm.Option(value: $0.id, label: $0.name, selected: false) },
                    sealable: servers.compactMap(Self.choice), hasSealable: servers.contains { $0.publicKey != nil },
                    vault: try await pages.store.vault(accountID: caller.account.id) == nil ? "none" : "present"))
        }
        router.page(.get, "/backups/destinations/{destination}", pages: pages) { _, context, caller in
            guard let reference = context.parameters.get("destination"),
                let destination = try await pages.store.destination(accountID: caller.account.id, reference: reference)
            else {
                return pages.notFound("The destination", caller: caller)
            }
            return pages.render("destination", try await detail(destination, caller))
        }
        router.page(.get, "/backups/destinations/{destination}/edit", pages: pages) { _, context, caller in
            guard let destination = try await destination(context, caller) else { return pages.notFound("The destination", caller: caller) }
            return pages.render("destination-edit", edit(destination, caller: caller, error: nil))
        }
        router.page(.post, "/backups/destinations/{destination}", pages: pages) { request, context, caller in
            let form = try await FormData.read(request, limit: 64 * 1024)
            try caller.checkCSRF(form)
            guard let original = try await destination(context, caller) else { return pages.notFound("The destination", caller: caller) }
            var settings = DestinationSettings(
                path: form["settings.path"], endpoint: form["settings.endpoint"], bucket: form["settings.bucket"],
                prefix: form["settings.prefix"], region: form["settings.region"],
                pathStyle: original.kind == .s3 ? form.has("settings.pathStyle") : nil, remote: form["settings.remote"],
                peerServerID: original.settings.peerServerID, peerAddress: form["settings.peerAddress"],
                quotaBytes: original.settings.quotaBytes, bandwidthSchedule: original.kind == .rclone ? form["settings.bandwidthSchedule"] : nil)
            var draft = original
            draft.name = form["name"] ?? ""
            draft.settings = settings
            let capText = form["maxConcurrentRuns"]?.trimmingSpaces ?? ""
            do {
                guard let cap = capText.isEmpty ? 0 : Int(capText) else {
                    throw DomainError.invalid(
                        "maxConcurrentRuns", "\"\(capText)\" is not a whole number of runs; e.g. 1, or leave it empty for no cap")
                }
                draft.maxConcurrentRuns = cap == 0 ? nil : cap
                settings.limitUploadKiB = try Self.kibPerSecond(form["settings.limitUploadKiB"], field: "limitUploadKiB")
                settings.limitDownloadKiB = try Self.kibPerSecond(form["settings.limitDownloadKiB"], field: "limitDownloadKiB")
                if original.kind != .peer {
                    settings.pruneMaxUnused = form["settings.pruneMaxUnused"]
                    settings.pruneMaxRepackSize = form["settings.pruneMaxRepackSize"]
                }
                settings.lockWaitSeconds = try Self.seconds(form["settings.lockWaitSeconds"], field: "lockWaitSeconds")
                draft.settings = settings
                let changed = try await DestinationService(hub: pages.hub).update(
                    original, with: DestinationUpdate(name: form["name"] ?? "", settings: settings, maxConcurrentRuns: cap),
                    account: caller.account)
                return WebResponses.redirect("/backups/destinations/\(changed.id)")
            } catch {
                guard let field = JobForm.fieldError(error) else { throw error }
                return pages.render("destination-edit", edit(draft, caller: caller, error: field), status: .badRequest)
            }
        }
        router.page(.post, "/backups/destinations/{destination}/delete", pages: pages) { request, context, caller in
            try caller.checkCSRF(try await FormData.read(request, limit: 4096))
            guard let reference = context.parameters.get("destination"),
                let destination = try await pages.store.destination(accountID: caller.account.id, reference: reference)
            else {
                return pages.notFound("The destination", caller: caller)
            }
            do {
                try await DestinationService(hub: pages.hub).delete(destination)
            } catch let error as DomainError {
                return pages.render(
                    "message",
                    MessageModel(
                        layout: Layout("Remove destination", section: "destinations", caller: caller),
                        title: "The destination was not removed", message: error.message,
                        back: "/backups/destinations/\(destination.id)"), status: .conflict)
            }
            return WebResponses.redirect("/backups/destinations")
        }
    }

    /// A whole number of seconds from a form field; empty: not set.
    static func seconds(_ text: String?, field: String) throws -> Int? {
        guard let text = text?.trimmingCharacters(in: .whitespaces), !text.isEmpty else { return nil }
        guard let value = Int(text) else {
            throw DomainError.invalid(field, "\"\(text.prefix(20))\" is not a whole number of seconds; give e.g. 600, or 0 to fail at once")
        }
        return value
    }

    func destination(_ context: HubRequestContext, _ caller: PageCaller) async throws -> Destination? {
        guard let reference = context.parameters.get("destination") else { return nil }
        return try await pages.store.destination(accountID: caller.account.id, reference: reference)
    }

    func edit(_ destination: Destination, caller: PageCaller, error: JobForm.FieldError?) -> EditModel {
        EditModel(
            layout: Layout("Edit \(destination.name)", section: "destinations", caller: caller), id: destination.id, name: destination.name,
            kindTitle: destination.kind.title, settings: destination.settings, isLocal: destination.kind == .local, isS3: destination.kind == .s3,
            isB2: destination.kind == .b2, isRclone: destination.kind == .rclone, isPeer: destination.kind == .peer,
            pathStyle: destination.settings.pathStyle ?? false, maxConcurrentRuns: destination.maxConcurrentRuns.map(String.init) ?? "",
            error: error?.message, errorField: error?.field)
    }

    /// A limit typed in the edit form: whole KiB per second, empty for none.
    static func kibPerSecond(_ text: String?, field: String) throws -> Int? {
        guard let text = text?.trimmingSpaces, !text.isEmpty else { return nil }
        guard let value = Int(text) else {
            throw DomainError.invalid(field, "\"\(text)\" is not a whole number of KiB per second; e.g. 512, or leave it empty for no limit")
        }
        return value
    }

    static func choice(_ server: Server) -> ServerChoice? {
        guard let key = server.publicKey, let keyID = server.keyFingerprint else { return nil }
        return ServerChoice(id: server.id, name: server.name, publicKey: key, keyID: keyID)
    }

    static func location(_ destination: Destination, servers: [String: String]) -> String {
        let s = destination.settings
        switch destination.kind {
        case .local: return s.path ?? "—"
        case .s3: return [s.endpoint, s.bucket, s.prefix].compactMap { $0 }.joined(separator: "/")
        case .b2: return "b2:" + [s.bucket, s.prefix].compactMap { $0 }.joined(separator: "/")
        case .rclone: return "rclone:" + (s.remote ?? "") + ":" + (s.prefix ?? "")
        case .peer: return "on \(s.peerServerID.flatMap { servers[$0] } ?? "?") at \(s.peerAddress ?? "?")"
        }
    }

    func list(_ caller: PageCaller) async throws -> ListModel {
        let accountID = caller.account.id
        let destinations = try await pages.store.destinations(accountID: accountID)
        let jobs = try await pages.store.jobs(accountID: accountID, serverID: nil, destinationID: nil)
        let servers = Dictionary(uniqueKeysWithValues: try await pages.store.servers(accountID: accountID).map { ($0.id, $0.name) })
        let protected = Dictionary(
            uniqueKeysWithValues: try await pages.store.jobStatuses(accountID: accountID, jobIDs: nil).map { ($0.id, $0.protectedBytes) })
        let envelopes = try await pages.store.envelopes(accountID: accountID)
        let rows = destinations.map { destination in
            let users = jobs.filter { $0.destinationIDs.contains(destination.id) }
            let serverNames =
                destination.kind.isOffsite
                ? envelopes.filter { $0.destinationID == destination.id }.map { servers[$0.serverID] ?? $0.serverID }
                : Array(Set(users.map { servers[$0.serverID] ?? $0.serverID }))
            let used = users.reduce(Int64(0)) { $0 + (protected[$1.id] ?? 0) }
            return Row(
                id: destination.id, name: destination.name, kind: destination.kind.title, location: Self.location(destination, servers: servers),
                jobs: users.map(\.name).sorted().joined(separator: ", "), servers: serverNames.sorted().joined(separator: ", "),
                used: WebFormat.bytes(used))
        }
        return ListModel(layout: Layout("Destinations", section: "destinations", caller: caller), rows: rows, hasRows: !rows.isEmpty)
    }

    func detail(_ destination: Destination, _ caller: PageCaller) async throws -> DetailModel {
        let accountID = caller.account.id
        let servers = try await pages.store.servers(accountID: accountID)
        let names = Dictionary(uniqueKeysWithValues: servers.map { ($0.id, $0.name) })
        let jobs = try await pages.store.jobsUsing(accountID: accountID, destinationID: destination.id)
        let sealed = Set(try await pages.store.envelopes(accountID: accountID, destinationID: destination.id).map(\.serverID))
        var peer: PeerView?
        if destination.kind == .peer, let report = try await pages.store.peerReports(accountID: accountID)[destination.id] {
            peer = PeerView(
                listening: report.listening, free: report.freeBytes.map(WebFormat.bytes) ?? "—",
                used: report.usedBytes.sorted { $0.key < $1.key }.map { "\(names[$0.key] ?? $0.key): \(WebFormat.bytes($0.value))" }.joined(
                    separator: ", "),
                error: report.error, reported: report.reportedAt.map { TimeView($0, now: pages.now) })
        }
        let attachable = servers.filter { !sealed.contains($0.id) && $0.id != destination.settings.peerServerID }.sorted { $0.name < $1.name }
            .compactMap(Self.choice)
        let recoverable =
            destination.kind == .peer ? servers.filter { sealed.contains($0.id) }.sorted { $0.name < $1.name }.compactMap(Self.choice) : []
        return DetailModel(
            layout: Layout(destination.name, section: "destinations", caller: caller), accountID: accountID, id: destination.id,
            name: destination.name,
            kind: destination.kind.rawValue, kindTitle: destination.kind.title, offsite: destination.kind.isOffsite,
            location: Self.location(destination, servers: names), jobs: jobs.map(\.name), sealedTo: sealed.map { names[$0] ?? $0 }.sorted(),
            attachable: attachable, recoverable: recoverable, hasRecoverable: !recoverable.isEmpty,
            hasAttachable: destination.kind.isOffsite && destination.credentialKey != nil && !attachable.isEmpty, peer: peer,
            signature: try await SignatureView.destination(destination, pages: pages),
            concurrency: destination.maxConcurrentRuns.map { "at most \($0) run\($0 == 1 ? "" : "s") at once, across all servers" },
            slots: try await pages.store.destinationSlots(accountID: accountID, destinationID: destination.id, now: pages.hub.clock.now()).map {
                ($0.granted ? "running: " : "waiting for slot, position \($0.position): ") + "run \($0.runID) on \(names[$0.serverID] ?? $0.serverID)"
            },
            stats: try await Self.statsView(
                DestinationService(hub: pages.hub).stats(destination, since: pages.now.addingTimeInterval(-90 * 86_400))))
    }

    /// Sizes, growth and a chart of the stored (deduplicated) bytes over time, in the house's chart style.
    static func statsView(_ stats: DestinationStats) -> StatsView? {
        guard let current = stats.current else { return nil }
        let series = RepositoryGrowth.storedSeries(stats.points).suffix(60)
        let chart = JobChart.bars(
            title: "Stored bytes over the last \(series.count) measurements",
            points: series.map { JobChart.Point(value: Double($0.1), label: WebFormat.utc($0.0)) }, unit: { WebFormat.bytes(Int64($0)) })
        return StatsView(
            total: WebFormat.bytes(current.totalBytes), stored: WebFormat.bytes(current.storedBytes),
            growth: stats.storedBytesPerDay.map { "\($0 < 0 ? "−" : "")\(WebFormat.bytes(abs($0))) per day" }
                ?? "not known yet (less than a day of history)",
            snapshots: current.snapshotCount, chart: chart)
    }
}
