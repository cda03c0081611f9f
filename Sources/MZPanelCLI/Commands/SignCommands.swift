import ArgumentParser
import BackupCore
import Foundation
import HubAPI
import Sealing

/// `mzpanel jobs sign` and `mzpanel destinations sign`: vouch for a job or destination as the hub
/// holds it now (after reading it), for ones made before the account had a vault, in a browser
/// tab that could not sign, or changed by someone else. Agents that pinned the account key run
/// only signed jobs with signed destinations.
struct SignJob: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sign", abstract: "Sign a job (or every unsigned or changed job) with the account key, after showing what is signed.")
    @Argument(help: "Job id or name (omit with --all).") var job: String?
    @Option(name: .long, help: "The job's server, when several servers have a job of that name.") var server: String?
    @Flag(name: .long, help: "Sign every job whose state is unsigned or changed.") var all = false
    @OptionGroup var vault: VaultOptions
    @OptionGroup var options: ClientOptions

    func validate() throws {
        if (job == nil) == !all { throw ValidationError("name one job, or give --all (not both)") }
    }

    func run() async throws {
        let client = try options.client()
        var views: [JobView] = []
        if let job {
            views = [try await client.send("GET", "/api/v1/jobs/\(job.pathSegment)", query: ["server": server], as: JobView.self)]
        } else {
            views = try await ManifestSigner.unsignedJobs(client: client)
        }
        guard !views.isEmpty else { return print("Every job is signed.") }
        let signer = ManifestSigner(client: client, vault: try await VaultSession(client: client, options: vault).unlocked())
        var signed: [JobView] = []
        for view in views {
            let job = view.job
            print(
                "Signing job \(job.name) (\(job.id)) on \(view.serverName ?? job.serverID): \(job.kind.rawValue), "
                    + "paths \(job.sources.paths.joined(separator: " ")), databases \(job.sources.databases.map { "\($0.engine.rawValue):\($0.name)" }.joined(separator: " ")), "
                    + "schedule \(job.schedule.calendar), keep \(view.retentionSummary), destinations \(job.destinationIDs.joined(separator: ", ")).")
            signed.append(try await signer.sign(job))
        }
        if options.json { return Output.json(try HubJSON.encoder().encode(JobList(jobs: signed, nextCursor: nil))) }
        print("Signed \(signed.count) job\(signed.count == 1 ? "" : "s") with the account key \(signer.vault.signingKey.fingerprint).")
    }
}

struct SignDestination: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sign", abstract: "Sign a destination's settings (or every unsigned or changed one) with the account key.")
    @Argument(help: "Destination id or name (omit with --all).") var destination: String?
    @Flag(name: .long, help: "Sign every destination whose state is unsigned or changed.") var all = false
    @OptionGroup var vault: VaultOptions
    @OptionGroup var options: ClientOptions

    func validate() throws {
        if (destination == nil) == !all { throw ValidationError("name one destination, or give --all (not both)") }
    }

    func run() async throws {
        let client = try options.client()
        var views: [DestinationView] = []
        if let destination {
            views = [try await client.send("GET", "/api/v1/destinations/\(destination.pathSegment)", as: DestinationView.self)]
        } else {
            views = try await ManifestSigner.unsignedDestinations(client: client)
        }
        guard !views.isEmpty else { return print("Every destination is signed.") }
        let signer = ManifestSigner(client: client, vault: try await VaultSession(client: client, options: vault).unlocked())
        var signed: [DestinationView] = []
        for view in views {
            let item = view.destination
            print("Signing destination \(item.name) (\(item.id)), \(item.kind.rawValue): \(DestinationsCommand.location(item)).")
            signed.append(try await signer.sign(item))
        }
        if options.json { return Output.json(try HubJSON.encoder().encode(signed.map(\.destination))) }
        print("Signed \(signed.count) destination\(signed.count == 1 ? "" : "s") with the account key \(signer.vault.signingKey.fingerprint).")
    }
}

/// `mzpanel runs sign RUN`: sign a restore that waits for the account's signature (it replaces
/// data or goes to another server), after showing what it does.
struct SignRestore: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sign", abstract: "Sign a restore run that waits for the account's signature, after showing what it does.")
    @Argument(help: "The restore run's id.") var run: String
    @OptionGroup var vault: VaultOptions
    @OptionGroup var options: ClientOptions

    func run() async throws {
        let client = try options.client()
        let held = try await client.send("GET", "/api/v1/runs/\(run.pathSegment)", as: Run.self)
        let server = try? await client.send("GET", "/api/v1/servers/\(held.serverID.pathSegment)", as: Server.self)
        print("Signing the \(RestoreSigner.describe(held, serverName: server?.name)).")
        let signer = RestoreSigner(client: client, vault: try await VaultSession(client: client, options: vault).unlocked())
        let signed = try await signer.sign(held)
        if options.json { return Output.json(try HubJSON.encoder().encode(signed)) }
        print(
            "Signed with the account key \(signer.vault.signingKey.fingerprint); server \(server?.name ?? held.serverID) carries it out now. Follow it with: mzpanel runs show \(signed.id)"
        )
    }
}
