import ArgumentParser
import BackupCore
import Foundation
import HubAPI
import Sealing

struct DestinationsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "destinations", abstract: "List, add, show and remove destinations (where backups are stored).",
        subcommands: [
            List.self, Add.self, Show.self, Edit.self, Attach.self, RotateDestination.self, SignDestination.self, DestinationsPruneCommand.self,
            DestinationsStatsCommand.self, Remove.self,
        ],
        defaultSubcommand: List.self
    )

    static func location(_ destination: Destination) -> String {
        let s = destination.settings
        switch destination.kind {
        case .local: return s.path ?? "-"
        case .s3: return [s.endpoint, s.bucket, s.prefix].compactMap { $0 }.joined(separator: "/")
        case .b2: return ["b2:" + (s.bucket ?? ""), s.prefix].compactMap { $0 }.joined(separator: "/")
        case .rclone: return "rclone:" + (s.remote ?? "") + ":" + (s.prefix ?? "")
        case .peer: return "peer " + (s.peerServerID ?? "-")
        }
    }

    /// The repository care settings, for people.
    static func care(_ settings: DestinationSettings) -> [(String, String)] {
        [
            ("Prune max unused", settings.pruneMaxUnused ?? "5% (restic's default)"),
            ("Prune max repack", settings.pruneMaxRepackSize.flatMap { Int64($0) }.map { Output.bytes($0) } ?? "no limit"),
            ("Lock wait", "\(RepositoryCare.lockWait(settings)) s"),
        ]
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "List destinations.")
        @OptionGroup var options: ClientOptions

        func run() async throws {
            let data = try await options.client().raw("GET", "/api/v1/destinations")
            if options.json { return Output.json(data) }
            let list = try HubDecoding.decode(DestinationList.self, data)
            if list.destinations.isEmpty { return print("No destinations yet. Add one with: mzpanel destinations add NAME --kind local --path DIR") }
            Output.table(
                ["NAME", "ID", "KIND", "LOCATION"], list.destinations.map { [$0.name, $0.id, $0.kind.rawValue, DestinationsCommand.location($0)] })
        }
    }

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "add", abstract: "Add a destination. Free: local. Plus: also s3, b2, rclone, peer.",
            discussion: """
                Offsite credentials are read from files (never from flags), encrypted on this machine under a new
                destination key, which is wrapped under the account's vault (created on first use) and sealed to
                each server that uses the destination (--attach, `destinations attach`, or `jobs add`). The hub
                stores ciphertext only. Without --repository-password-file a random restic password is made; it is
                kept inside the sealed credential (see docs/security.md).
                """
        )
        @Argument(help: "The destination's name.") var name: String
        @Option(name: .long, help: "local, s3, b2, rclone or peer.") var kind: String
        @Option(name: .long, help: "local: absolute directory on each server; peer: directory on the storage server.") var path: String?
        @Option(name: .long, help: "s3: endpoint URL.") var endpoint: String?
        @Option(name: .long, help: "s3, b2: bucket.") var bucket: String?
        @Option(name: .long, help: "s3, b2, rclone: folder inside the bucket or remote.") var prefix: String?
        @Option(name: .long, help: "s3: region.") var region: String?
        @Flag(name: .long, help: "s3: path-style addressing (MinIO and most self-hosted servers).") var pathStyle = false
        @Option(name: .long, help: "rclone: the remote's name.") var remote: String?
        @Option(name: .long, help: "peer: the storage server (id or name).") var server: String?
        @Option(name: .long, help: "peer: host:port where source servers reach the storage server.") var address: String?
        @Option(name: .long, help: "peer: what each source server may store, e.g. 200GiB (default: no quota).") var quota: String?
        @OptionGroup var limits: BandwidthOptions
        @OptionGroup var care: RepositoryCareOptions
        @OptionGroup var credentials: CredentialFiles
        @Option(
            name: .customLong("max-concurrent-runs"),
            help: "At most this many runs use the destination at once, across all servers (default: no cap); the others wait for a slot.")
        var maxConcurrentRuns: Int?
        @Option(name: .long, help: "Seal the new destination to this server right away (repeatable).") var attach: [String] = []
        @OptionGroup var vault: VaultOptions
        @OptionGroup var options: ClientOptions

        func run() async throws {
            var quotaBytes: Int64?
            if let quota {
                guard let bytes = ByteSize.parse(quota) else { throw CLIError("--quota \(quota) is not a size; write it like 200GiB, 500G or 1TB") }
                quotaBytes = bytes
            }
            var settings = DestinationSettings(
                path: path, endpoint: endpoint, bucket: bucket, prefix: prefix, region: region,
                pathStyle: pathStyle ? true : nil, remote: remote, peerServerID: server, peerAddress: address,
                quotaBytes: quotaBytes)
            try limits.apply(to: &settings)
            try care.apply(to: &settings)
            let parsedKind = DestinationKind(rawValue: kind.lowercased())
            let client = try options.client()
            if let parsedKind, parsedKind.isOffsite {
                // The plan first: a Free account learns what Plus unlocks before preparing credentials.
                let account = try await VaultAccess(client: client, options: vault).account()
                do { try account.plan.authorize(parsedKind) } catch { throw CLIError(error.message) }
            }
            // Read every credential file before anything is created, so a typo changes nothing.
            let credential = try parsedKind.map { try credentials.credential(for: $0) } ?? nil
            if parsedKind == .local && credentials.anyGiven {
                throw CLIError("a local destination takes no credential files: its repository password is made and kept by the agent")
            }
            let session = VaultSession(client: client, options: vault)
            try await session.requireSigner(for: "destination")
            let data = try await client.raw(
                "POST", "/api/v1/destinations",
                body: DestinationRequest(name: name, kind: kind, settings: settings, maxConcurrentRuns: maxConcurrentRuns))
            var destination = try HubDecoding.decode(Destination.self, data)
            var sealedTo: [String] = []
            if let credential {
                do {
                    let unlocked = try await session.unlocked(create: true)
                    let accountID = unlocked.accountID
                    let (record, _) = try DestinationKey.create(
                        accountID: accountID, destinationID: destination.id, vaultKey: unlocked.vaultKey, credential: credential)
                    destination = try await client.send(
                        "PATCH", "/api/v1/destinations/\(destination.id)", body: DestinationUpdate(credentialKey: record))
                    let sealer = DestinationSealer(client: client, vault: unlocked)
                    for server in attach { sealedTo.append(try await sealer.seal(destination, to: server).name) }
                } catch {
                    // No half-made destination: without its credential it is useless.
                    _ = try? await client.raw("DELETE", "/api/v1/destinations/\(destination.id)")
                    throw error
                }
            } else if !attach.isEmpty {
                throw CLIError("--attach is for offsite destinations; a local destination is used by any server of a job without sealing")
            }
            var signing: String?
            if let signer = try await session.signer() {
                destination = try await signer.sign(destination, settings: settings).destination
                signing = "Signed with the account key \(signer.vault.signingKey.fingerprint)."
            }
            if options.json { return Output.json(try HubJSON.encoder().encode(destination)) }
            print(
                "Added destination \(destination.name) (\(destination.id)), \(destination.kind.rawValue): \(DestinationsCommand.location(destination))."
            )
            if credential != nil {
                print(
                    sealedTo.isEmpty
                        ? "Its credential is sealed; servers get it when a job uses it there (or: mzpanel destinations attach \(destination.name) --server S)."
                        : "Sealed to \(sealedTo.joined(separator: ", ")).")
            }
            signing.map { print($0) }
            if let cap = destination.maxConcurrentRuns { print("At most \(cap) run\(cap == 1 ? "" : "s") at once across all servers.") }
        }
    }

    struct Attach: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "attach", abstract: "Seal an offsite destination to another server (unlocks the vault; the credential is not typed again).")
        @Argument(help: "Destination id or name.") var destination: String
        @Option(name: .long, help: "The server (id or name); repeatable.") var server: [String] = []
        @Option(
            name: .customLong("recover-from"),
            help:
                "Peer destinations: also give the server a new login as this lost server, so it can restore the lost server's repository (the lost server's own login stops working)."
        )
        var recoverFrom: String?
        @OptionGroup var vault: VaultOptions
        @OptionGroup var options: ClientOptions

        func run() async throws {
            guard !server.isEmpty else { throw CLIError("--server is required: the server to seal the destination to") }
            let client = try options.client()
            let item = try await client.send("GET", "/api/v1/destinations/\(destination.pathSegment)", as: Destination.self)
            guard item.kind.isOffsite else { throw CLIError("destination \(item.name) is local; local destinations need no sealing") }
            var lost: Server?
            if let recoverFrom {
                guard item.kind == .peer else {
                    throw CLIError(
                        "--recover-from is for peer destinations; any server sealed to an \(item.kind.rawValue) destination can restore from it")
                }
                lost = try await client.send("GET", "/api/v1/servers/\(recoverFrom.pathSegment)", as: Server.self)
            }
            let access = VaultAccess(client: client, options: vault)
            let accountID = try await access.accountID()
            let sealer = DestinationSealer(client: client, vault: try await access.open(accountID: accountID, create: false))
            var names: [String] = []
            for reference in server { names.append(try await sealer.seal(item, to: reference, recoveringFrom: lost?.id).name) }
            if let lost {
                FileHandle.standardError.write(
                    Data(
                        "\(names.joined(separator: ", ")) can now restore \(lost.name)'s repository at \(item.name); \(lost.name)'s own login there no longer works.\n"
                            .utf8))
            }
            if options.json { return Output.json(try HubJSON.encoder().encode(["destination": item.id, "sealedTo": names.joined(separator: ",")])) }
            print("Sealed \(item.name) to \(names.joined(separator: ", ")).")
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "show", abstract: "Show a destination, the jobs that use it and the servers it is sealed to.")
        @Argument(help: "Destination id or name.") var destination: String
        @OptionGroup var options: ClientOptions

        func run() async throws {
            let data = try await options.client().raw("GET", "/api/v1/destinations/\(destination.pathSegment)")
            if options.json { return Output.json(data) }
            let detail = try HubDecoding.decode(DestinationView.self, data)
            let item = detail.destination
            var pairs: [(String, String)] = [
                ("Name", item.name), ("ID", item.id), ("Kind", item.kind.title), ("Location", DestinationsCommand.location(item)),
                ("Jobs", detail.jobs.isEmpty ? "none" : detail.jobs.map(\.name).joined(separator: ", ")),
                ("Sealed to", detail.sealedTo.isEmpty ? "no server" : detail.sealedTo.joined(separator: ", ")),
                ("Upload limit", item.settings.limitUploadKiB.map { "\($0) KiB/s" } ?? "none"),
                ("Download limit", item.settings.limitDownloadKiB.map { "\($0) KiB/s" } ?? "none"),
            ]
            if let table = item.settings.bandwidthSchedule { pairs.append(("rclone bwlimit", table)) }
            pairs += DestinationsCommand.care(item.settings)
            pairs.append(("Concurrent runs", item.maxConcurrentRuns.map { "at most \($0) (across all servers)" } ?? "no cap"))
            pairs.append(("Created", Output.date(item.createdAt)))
            Output.fields(pairs)
        }
    }

    struct Edit: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "edit", abstract: "Rename a destination or change its bandwidth limits or repository care (signed again in trust mode).")
        @Argument(help: "Destination id or name.") var destination: String
        @Option(name: .long, help: "A new name.") var name: String?
        @OptionGroup var limits: BandwidthOptions
        @OptionGroup var care: RepositoryCareOptions
        @Option(
            name: .customLong("max-concurrent-runs"),
            help: "At most this many runs use the destination at once, across all servers (0 removes the cap).")
        var maxConcurrentRuns: Int?
        @OptionGroup var vault: VaultOptions
        @OptionGroup var options: ClientOptions

        func run() async throws {
            guard name != nil || limits.anyGiven || care.anyGiven || maxConcurrentRuns != nil else {
                throw CLIError(
                    "nothing to change: give --name, --limit-upload, --limit-download, --bwlimit, --max-unused, --max-repack-size, --lock-wait or --max-concurrent-runs"
                )
            }
            let client = try options.client()
            let current = try await client.send("GET", "/api/v1/destinations/\(destination.pathSegment)", as: Destination.self)
            var settings: DestinationSettings?
            if limits.anyGiven || care.anyGiven {
                var changed = current.settings
                try limits.apply(to: &changed)
                try care.apply(to: &changed)
                settings = changed
            }
            let session = VaultSession(client: client, options: vault)
            if settings != nil { try await session.requireSigner(for: "destination") }
            let data = try await client.raw(
                "PATCH", "/api/v1/destinations/\(current.id)",
                body: DestinationUpdate(name: name, settings: settings, maxConcurrentRuns: maxConcurrentRuns))
            var updated = try HubDecoding.decode(Destination.self, data)
            var signing: String?
            if let settings, let signer = try await session.signer() {
                updated = try await signer.sign(updated, settings: settings).destination
                signing = "Signed with the account key \(signer.vault.signingKey.fingerprint)."
            }
            if options.json { return Output.json(try HubJSON.encoder().encode(updated)) }
            print("Updated destination \(updated.name) (\(updated.id)).")
            signing.map { print($0) }
            Output.fields(
                [
                    ("Upload limit", updated.settings.limitUploadKiB.map { "\($0) KiB/s" } ?? "none"),
                    ("Download limit", updated.settings.limitDownloadKiB.map { "\($0) KiB/s" } ?? "none"),
                    ("rclone bwlimit", updated.settings.bandwidthSchedule ?? "none"),
                ] + DestinationsCommand.care(updated.settings)
                    + [("Concurrent runs", updated.maxConcurrentRuns.map { "at most \($0) (across all servers)" } ?? "no cap")])
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rm", abstract: "Remove a destination no job uses (stored backups are not deleted).")
        @Argument(help: "Destination id or name.") var destination: String
        @Flag(name: .long, help: "Do not ask for confirmation.") var yes = false
        @OptionGroup var options: ClientOptions

        func run() async throws {
            try Confirmation.require("Remove destination \(destination)?", yes: yes)
            let data = try await options.client().raw("DELETE", "/api/v1/destinations/\(destination.pathSegment)")
            if options.json { return Output.json(data) }
            print("Removed destination \(destination). Backups already stored there were not touched.")
        }
    }
}

/// `--limit-upload 512KiB`, `--limit-download 2MiB` (per second; restic counts whole KiB/s) and
/// rclone's `--bwlimit` time table. `off` or `0` removes a limit.
struct BandwidthOptions: ParsableArguments {
    @Option(name: .customLong("limit-upload"), help: "Upload limit per second, e.g. 512KiB or 2MiB (restic --limit-upload); off removes it.")
    var limitUpload: String?
    @Option(name: .customLong("limit-download"), help: "Download limit per second, e.g. 2MiB (restic --limit-download); off removes it.")
    var limitDownload: String?
    @Option(
        name: .customLong("bwlimit"), help: "rclone: rclone's --bwlimit, a rate or a time table such as \"08:00,512k 19:00,off\"; off removes it.")
    var bwlimit: String?

    var anyGiven: Bool { limitUpload != nil || limitDownload != nil || bwlimit != nil }

    func apply(to settings: inout DestinationSettings) throws {
        if let limitUpload { settings.limitUploadKiB = try Self.kibPerSecond(limitUpload, option: "--limit-upload") }
        if let limitDownload { settings.limitDownloadKiB = try Self.kibPerSecond(limitDownload, option: "--limit-download") }
        if let bwlimit {
            let table = bwlimit.trimmingCharacters(in: .whitespaces)
            settings.bandwidthSchedule = table.isEmpty || table.lowercased() == "off" ? nil : table
        }
    }

    /// A rate with a unit, in whole KiB/s; nil for off.
    static func kibPerSecond(_ text: String, option: String) throws -> Int? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if trimmed.isEmpty || trimmed == "0" || trimmed.lowercased() == "off" { return nil }
        let rate = trimmed.lowercased().hasSuffix("/s") ? String(trimmed.dropLast(2)) : trimmed
        guard rate.contains(where: \.isLetter), let bytes = ByteSize.parse(rate), bytes >= 1024 else {
            throw CLIError(
                "\(option) \"\(text)\" is not a rate; give an amount per second with its unit, at least 1KiB: 512KiB, 2MiB, 10MB (off removes it)")
        }
        return Int(bytes / 1024)
    }
}
