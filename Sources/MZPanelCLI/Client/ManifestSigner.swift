import BackupCore
import Foundation
import HubAPI
import Sealing

/// Signs jobs and destinations with the account key opened from the vault (docs/sealing.md,
/// "Signed manifests"). It signs only after checking that what the hub stored is what this
/// command asked for, so a hub that alters a request gets a refusal, not a signature.
struct ManifestSigner {
    let client: APIClient
    let vault: UnlockedVault

    /// Signs `job` as the hub holds it once `intent` agrees with it; answers the job's view.
    @discardableResult
    func sign(_ job: Job, intent: JobIntent? = nil) async throws -> JobView {
        if let intent {
            let changed = try await intent.differences(from: job, client: client)
            guard changed.isEmpty else {
                throw CLIError(
                    "the hub stored job \(job.name) with other \(changed.joined(separator: ", ")) than this command sent: nothing was signed. Check the job (`mzpanel jobs show \(job.id)`); if the hub is not yours to trust, do not sign it"
                )
            }
        }
        let manifest = try ManifestSignature.sign(
            JobManifest(job: job, version: SignedManifest.nextVersion(after: job.manifest, now: Date())), with: vault.signingKey)
        return try await client.send("PUT", "/api/v1/jobs/\(job.id)/manifest", body: ManifestRequest(manifest: manifest))
    }

    /// The manifest of `current` after `intent` (an edit), to send with the change itself.
    func manifest(of current: Job, after intent: JobIntent) async throws -> SignedManifest {
        let expected = try await intent.expected(from: current, client: client)
        return try ManifestSignature.sign(
            JobManifest(job: expected, version: SignedManifest.nextVersion(after: current.manifest, now: Date())), with: vault.signingKey)
    }

    /// Signs `destination` as the hub holds it once `settings` (what this command sent, if any) agree with it.
    @discardableResult
    func sign(_ destination: Destination, settings intended: DestinationSettings? = nil) async throws -> DestinationView {
        if let intended {
            var expected = try intended.validated(for: destination.kind)
            if let peer = expected.peerServerID {
                expected.peerServerID = try await client.send("GET", "/api/v1/servers/\(peer.pathSegment)", as: Server.self).id
            }
            guard expected == destination.settings else {
                throw CLIError(
                    "the hub stored destination \(destination.name) with other settings than this command sent: nothing was signed. Check it (`mzpanel destinations show \(destination.id)`)"
                )
            }
        }
        let manifest = try ManifestSignature.sign(
            DestinationManifest(destination: destination, version: SignedManifest.nextVersion(after: destination.manifest, now: Date())),
            with: vault.signingKey)
        return try await client.send("PUT", "/api/v1/destinations/\(destination.id)/manifest", body: ManifestRequest(manifest: manifest))
    }
}

extension ManifestSigner {
    /// The account's jobs that agents would refuse (unsigned, or changed since signed).
    static func unsignedJobs(client: APIClient) async throws -> [JobView] {
        var views: [JobView] = []
        var cursor: String?
        repeat {
            let page = try await client.send("GET", "/api/v1/jobs", query: ["cursor": cursor, "limit": "200"], as: JobList.self)
            views += page.jobs.filter { $0.manifestState == .unsigned || $0.manifestState == .changed }
            cursor = page.nextCursor
        } while cursor != nil
        return views
    }

    /// The account's destinations that agents would refuse.
    static func unsignedDestinations(client: APIClient) async throws -> [DestinationView] {
        var views: [DestinationView] = []
        for destination in try await client.send("GET", "/api/v1/destinations", as: DestinationList.self).destinations {
            let view = try await client.send("GET", "/api/v1/destinations/\(destination.id)", as: DestinationView.self)
            if view.manifestState == .unsigned || view.manifestState == .changed { views.append(view) }
        }
        return views
    }

    /// Right after the vault is made: signs what the account already has, so servers keep running
    /// it once they pin the new key. Answers one line per signed item.
    func signExisting() async throws -> [String] {
        var lines: [String] = []
        for view in try await Self.unsignedDestinations(client: client) {
            try await sign(view.destination)
            lines.append("Signed destination \(view.destination.name) (\(view.destination.kind.rawValue)).")
        }
        for view in try await Self.unsignedJobs(client: client) {
            try await sign(view.job)
            lines.append("Signed job \(view.job.name) on \(view.serverName ?? view.job.serverID).")
        }
        return lines
    }
}

/// What a `jobs add`/`jobs edit` command asked for, to hold the hub's answer against before
/// signing it. Nil fields were not given (an edit keeps them).
struct JobIntent {
    var server: String?
    var kind: String?
    var sources: JobSources?
    var schedule: String?
    var timeZone: String?
    var retention: RetentionPolicy?
    var destinations: [String]?
    var checkSubsets: Int?
    var pingURL: String?
    var hooks: JobHooks?
    var destinationRetention: [DestinationRetention]?
    var drill: String?
    var drillSample: String?
    var drillAssertions: [String]?
    var window: String?
    var spread: String?

    init(_ request: JobRequest) {
        window = request.window ?? ""
        spread = request.spread ?? ""
        drill = request.drill
        drillSample = request.drillSample
        drillAssertions = request.drillAssertions
        server = request.server
        kind = request.kind
        sources = request.sources ?? JobSources()
        schedule = request.schedule
        timeZone = request.timeZone ?? "UTC"
        retention = request.retention ?? .standard
        destinations = request.destinations
        checkSubsets = request.checkSubsets
        pingURL = request.pingURL ?? ""
        hooks = request.hooks ?? JobHooks()
        destinationRetention = request.destinationRetention ?? []
    }

    init(_ update: JobUpdate) {
        window = update.window
        spread = update.spread
        drill = update.drill
        drillSample = update.drillSample
        drillAssertions = update.drillAssertions
        kind = update.kind
        sources = update.sources
        schedule = update.schedule
        timeZone = update.timeZone
        retention = update.retention
        destinations = update.destinations
        checkSubsets = update.checkSubsets
        pingURL = update.pingURL
        hooks = update.hooks
        destinationRetention = update.destinationRetention
    }

    /// The manifest fields where the hub's `job` differs from this intent, checked with the same
    /// BackupCore rules the hub applies (names of servers and destinations resolved to ids).
    func differences(from job: Job, client: APIClient) async throws -> [String] {
        JobManifest(job: try await expected(from: job, client: client), version: 0).differences(from: job)
    }

    /// `job` with this intent applied, as the hub applies it.
    func expected(from job: Job, client: APIClient) async throws -> Job {
        var expected = job
        do {
            if let kind { expected.kind = try JobKind.parse(kind) }
            if let sources { expected.sources = try sources.validated(for: expected.kind) }
            if schedule != nil || timeZone != nil {
                expected.schedule = try Schedule.validated(schedule ?? job.schedule.calendar, timeZone: timeZone ?? job.schedule.timeZone)
            }
            if let retention { expected.retention = try retention.validatedForRequest() }
            if let pingURL { expected.pingURL = try Job.validatedPingURL(pingURL) }
            if let hooks { expected.hooks = try hooks.validated() }
            if let window { expected.window = try Job.validatedWindow(window) }
            if let spread { expected.spreadSeconds = try ScheduleSpread.parse(spread) }
            expected.drill = try JobDrill.applying(
                frequency: drill, sample: drillSample, assertions: drillAssertions, to: job.drill, kind: expected.kind)
            if checkSubsets != nil || kind != nil {
                expected.checkSubsets = try Job.validatedCheckSubsets(
                    expected.kind == .check ? (checkSubsets ?? job.checkSubsets) : checkSubsets, kind: expected.kind)
            }
        } catch {
            throw CLIError(error.message)
        }
        if let server { expected.serverID = try await client.send("GET", "/api/v1/servers/\(server.pathSegment)", as: Server.self).id }
        if let destinations {
            var ids: [String] = []
            for reference in destinations {
                ids.append(try await client.send("GET", "/api/v1/destinations/\(reference.pathSegment)", as: Destination.self).id)
            }
            expected.destinationIDs = ids
        }
        if let destinationRetention {
            var resolved: [DestinationRetention] = []
            var names: [String: String] = [:]
            for item in destinationRetention {
                let found = try await client.send("GET", "/api/v1/destinations/\(item.destination.pathSegment)", as: Destination.self)
                names[found.id] = found.name
                resolved.append(DestinationRetention(destination: found.id, retention: item.retention))
            }
            do {
                expected.destinationRetention = try Job.validatedDestinationRetention(
                    resolved, destinationIDs: expected.destinationIDs, names: names)
            } catch {
                throw CLIError(error.message)
            }
        } else if destinations != nil {
            expected.destinationRetention = expected.destinationRetention?.filter { expected.destinationIDs.contains($0.destination) }
            if expected.destinationRetention?.isEmpty == true { expected.destinationRetention = nil }
        }
        return expected
    }
}

extension JobUpdate {
    /// The same change carrying its signed manifest.
    func with(manifest: SignedManifest) -> JobUpdate {
        JobUpdate(
            name: name, kind: kind, sources: sources, schedule: schedule, timeZone: timeZone, retention: retention, destinations: destinations,
            enabled: enabled, staleAfter: staleAfter, checkSubsets: checkSubsets, pingURL: pingURL, hooks: hooks,
            destinationRetention: destinationRetention, drill: drill, drillSample: drillSample, drillAssertions: drillAssertions,
            window: window, spread: spread, manifest: manifest)
    }
}
