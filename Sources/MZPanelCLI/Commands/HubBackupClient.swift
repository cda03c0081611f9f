import ArgumentParser
import BackupCore
import Foundation
import HubAPI

/// `mzpanel admin backup --destination D`: the hub's state to a destination, through the agent on
/// the hub's machine (the hub cannot open destination credentials; that agent can). Creates the
/// server's `hub` job writing to D the first time (scheduled, so it also runs on its own), reuses
/// it afterwards, runs it now and follows it.
public enum HubBackupClient {
    public struct Request: Sendable {
        public var destination: String
        public var server: String?
        public var jobName: String
        public var schedule: String
        public var vaultPassphraseFile: String?
        public var timeout: Int

        public init(destination: String, server: String?, jobName: String, schedule: String, vaultPassphraseFile: String?, timeout: Int) {
            self.destination = destination
            self.server = server
            self.jobName = jobName
            self.schedule = schedule
            self.vaultPassphraseFile = vaultPassphraseFile
            self.timeout = timeout
        }
    }

    public static func backupNow(_ request: Request) async throws {
        let client = try APIClient.fromEnvironment()
        let server = try await hubServer(request.server, client: client)
        let destination = try await client.send("GET", "/api/v1/destinations/\(request.destination.pathSegment)", as: Destination.self)
        let existing = try await client.send(
            "GET", "/api/v1/jobs", query: ["server": server.id, "destination": destination.id, "limit": "100"], as: JobList.self
        ).jobs.first { $0.job.kind == .hub }
        let job: Job
        if let existing {
            job = existing.job
            print("Using job \(job.name) (\(job.id)) on \(server.name) → \(destination.name).")
        } else {
            job = try await createJob(request, server: server, destination: destination, client: client)
        }
        let queued = try await client.send("POST", "/api/v1/jobs/\(job.id)/run", as: Run.self)
        let (detail, _) = try await RunFollower.follow(queued.id, client: client, timeout: request.timeout, json: false)
        let run = detail.run
        print("Run \(run.id) \(run.status.rawValue): \(Output.bytes(run.bytesAdded)) added, \(Output.bytes(run.bytesProcessed)) processed.")
        for result in run.results {
            print("  \(result.destinationID): \(result.status.rawValue)" + (result.error.map { " — " + $0 } ?? ""))
        }
        if let snapshot = detail.snapshot {
            print("Snapshot \(snapshot.id) of the hub at \(destination.name). Restore: docs/operations.md, \"Restoring the hub from a destination\".")
        }
        if run.status != .succeeded { throw CLIError("the hub backup ended \(run.status.rawValue)", exitCode: 1) }
    }

    /// The server that runs hub jobs: the one given, else the only one that allows them.
    static func hubServer(_ reference: String?, client: APIClient) async throws -> Server {
        let allowed: [Server]
        if let reference {
            allowed = [try await client.send("GET", "/api/v1/servers/\(reference.pathSegment)", as: ServerView.self).server]
        } else {
            allowed = try await client.send("GET", "/api/v1/servers", query: ["limit": "500"], as: ServerList.self).servers.map(\.server)
                .filter { $0.capabilities.contains(AgentCapability.hubBackup) }
        }
        guard let server = allowed.first else {
            throw CLIError(
                "no server allows hub backups yet: on the hub's machine, run `mzpanel-agent hub-backup enable --data-dir /var/lib/mzpanel --passphrase-file FILE` as root (its agent must be enrolled), then try again"
            )
        }
        guard allowed.count == 1 else {
            throw CLIError("\(allowed.count) servers allow hub backups (\(allowed.map(\.name).joined(separator: ", "))); choose one with --server")
        }
        guard server.capabilities.contains(AgentCapability.hubBackup) else {
            throw CLIError(
                "server \(server.name) does not allow hub backups: run `mzpanel-agent hub-backup enable --data-dir /var/lib/mzpanel --passphrase-file FILE` on it as root"
            )
        }
        return server
    }

    static func createJob(_ request: Request, server: Server, destination: Destination, client: APIClient) async throws -> Job {
        let session = VaultSession(
            client: client, options: try VaultOptions.parse(request.vaultPassphraseFile.map { ["--vault-passphrase-file", $0] } ?? []))
        try await session.requireSigner(for: "job")
        let body = JobRequest(
            name: request.jobName, server: server.id, kind: JobKind.hub.rawValue, sources: nil, schedule: request.schedule, timeZone: nil,
            retention: nil, destinations: [destination.id], enabled: true, staleAfter: nil)
        let job = try await client.send("POST", "/api/v1/jobs", body: body, as: JobView.self).job
        print("Added job \(job.name) (\(job.id)) on \(server.name) → \(destination.name), schedule \(request.schedule).")
        let notes = try await JobSealing.sealMissing(job: job, client: client, session: session)
        let signing = try await session.signAfterChange(job, intent: JobIntent(body))
        (notes + signing).forEach { print($0) }
        return job
    }
}
