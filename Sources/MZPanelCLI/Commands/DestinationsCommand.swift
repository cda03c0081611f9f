import ArgumentParser
import BackupCore
import Foundation

struct DestinationsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "destinations", abstract: "List, add, show and remove destinations (where backups are stored).",
        subcommands: [List.self, Add.self, Show.self, Remove.self], defaultSubcommand: List.self
    )

    struct DestinationList: Decodable { let destinations: [Destination] }

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

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "List destinations.")
        @OptionGroup var options: ClientOptions

        func run() async throws {
            let data = try await options.client().raw("GET", "/api/v1/destinations")
            if options.json { return Output.json(data) }
            let list = try HubDecoding.decode(DestinationList.self, data)
            if list.destinations.isEmpty { return print("No destinations yet. Add one with: mzpanel destinations add NAME --kind local --path DIR") }
            Output.table(["NAME", "ID", "KIND", "LOCATION"], list.destinations.map { [$0.name, $0.id, $0.kind.rawValue, DestinationsCommand.location($0)] })
        }
    }

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "add", abstract: "Add a destination. Free: local. Plus: also s3, b2, rclone, peer.",
            discussion: "Credentials of offsite destinations are sealed to each server's key before they leave this machine (see docs/security.md)."
        )
        @Argument(help: "The destination's name.") var name: String
        @Option(name: .long, help: "local, s3, b2, rclone or peer.") var kind: String
        @Option(name: .long, help: "local: absolute directory on each server.") var path: String?
        @Option(name: .long, help: "s3: endpoint URL.") var endpoint: String?
        @Option(name: .long, help: "s3, b2: bucket.") var bucket: String?
        @Option(name: .long, help: "s3, b2, rclone: folder inside the bucket or remote.") var prefix: String?
        @Option(name: .long, help: "s3: region.") var region: String?
        @Flag(name: .long, help: "s3: path-style addressing (MinIO and most self-hosted servers).") var pathStyle = false
        @Option(name: .long, help: "rclone: the remote's name.") var remote: String?
        @Option(name: .long, help: "peer: the storage server (id or name).") var server: String?
        @OptionGroup var options: ClientOptions

        func run() async throws {
            struct Body: Encodable { let name: String; let kind: String; let settings: DestinationSettings }
            let settings = DestinationSettings(path: path, endpoint: endpoint, bucket: bucket, prefix: prefix, region: region,
                                               pathStyle: pathStyle ? true : nil, remote: remote, peerServerID: server)
            let data = try await options.client().raw("POST", "/api/v1/destinations", body: Body(name: name, kind: kind, settings: settings))
            if options.json { return Output.json(data) }
            let destination = try HubDecoding.decode(Destination.self, data)
            print("Added destination \(destination.name) (\(destination.id)), \(destination.kind.rawValue): \(DestinationsCommand.location(destination)).")
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "show", abstract: "Show a destination, the jobs that use it and the servers it is sealed to.")
        @Argument(help: "Destination id or name.") var destination: String
        @OptionGroup var options: ClientOptions

        struct Detail: Decodable {
            struct JobRef: Decodable { let id: String; let name: String }
            let jobs: [JobRef]
            let sealedTo: [String]
        }

        func run() async throws {
            let data = try await options.client().raw("GET", "/api/v1/destinations/\(destination.pathSegment)")
            if options.json { return Output.json(data) }
            let item = try HubDecoding.decode(Destination.self, data)
            let detail = try HubDecoding.decode(Detail.self, data)
            Output.fields([
                ("Name", item.name), ("ID", item.id), ("Kind", item.kind.title), ("Location", DestinationsCommand.location(item)),
                ("Jobs", detail.jobs.isEmpty ? "none" : detail.jobs.map(\.name).joined(separator: ", ")),
                ("Sealed to", detail.sealedTo.isEmpty ? "no server" : detail.sealedTo.joined(separator: ", ")),
                ("Created", Output.date(item.createdAt)),
            ])
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "rm", abstract: "Remove a destination no job uses (stored backups are not deleted).")
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
