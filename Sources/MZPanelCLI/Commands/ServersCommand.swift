import ArgumentParser
import BackupCore
import Foundation
import HubAPI

struct ServersCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "servers", abstract: "List, add, show and remove servers.",
        subcommands: [List.self, Add.self, Show.self, Edit.self, Remove.self, TrustServer.self, RevokeServer.self, Stacks.self, Upgrade.self],
        defaultSubcommand: List.self
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "List the account's servers, newest first.")
        @Option(name: .long, help: "Page size (1–500, default 50).") var limit: Int?
        @Option(name: .long, help: "Continue after this cursor (printed under the previous page).") var cursor: String?
        @OptionGroup var options: ClientOptions

        func run() async throws {
            let data = try await options.client().raw("GET", "/api/v1/servers", query: ["limit": limit.map(String.init), "cursor": cursor])
            if options.json { return Output.json(data) }
            let list = try HubDecoding.decode(ServerList.self, data)
            if list.servers.isEmpty { return print("No servers yet. Add one with: mzpanel servers add NAME") }
            Output.table(
                ["NAME", "ID", "AGENT", "VERSION", "LAST SEEN"],
                list.servers.map {
                    [
                        $0.server.name, $0.server.id, $0.server.enrolledAt == nil ? "not enrolled" : $0.online ? "online" : "offline",
                        ($0.server.agentVersion ?? "-") + ($0.agentOutdated == true ? " (outdated)" : ""), Output.date($0.server.lastSeenAt),
                    ]
                })
            Output.nextPage(list.nextCursor)
        }
    }

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "add", abstract: "Add a server; prints its enrollment token and the agent command.")
        @Argument(help: "The server's name (letters, digits, '.', '-', '_').") var name: String
        @OptionGroup var options: ClientOptions

        func run() async throws {
            let data = try await options.client().raw("POST", "/api/v1/servers", body: ServerRequest(name: name))
            if options.json { return Output.json(data) }
            let created = try HubDecoding.decode(ServerCreated.self, data)
            print("Added server \(created.server.name) (\(created.server.id)).")
            print("Enrollment token (works once, until \(Output.date(created.enrollment.enrollmentToken.expiresAt))):")
            print("")
            print("  " + created.enrollment.secret)
            print("")
            print("Install the agent on the server and enroll it (the script asks for the token):")
            print("")
            print("  " + created.enrollment.installCommand)
            print("")
            if let privateCA = created.enrollment.privateCAInstallCommand {
                print("If the hub's certificate is from your own CA, copy its PEM file to the server as ca.pem and run instead:")
                print("")
                print("  " + privateCA)
                print("")
            }
            print("Or, where mzpanel-agent is already installed:")
            print("")
            print("  " + created.enrollment.command)
            print("")
            print("(printf is the shell's own: the token reaches the agent on standard input, never in a process list.)")
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "show", abstract: "Show a server.")
        @Argument(help: "Server id or name.") var server: String
        @OptionGroup var options: ClientOptions

        func run() async throws {
            let data = try await options.client().raw("GET", "/api/v1/servers/\(server.pathSegment)")
            if options.json { return Output.json(data) }
            let item = try HubDecoding.decode(Server.self, data)
            Output.fields([
                ("Name", item.name), ("ID", item.id), ("Enrolled", Output.date(item.enrolledAt)),
                ("Key fingerprint", item.keyFingerprint ?? "-"),
                (
                    "Certified",
                    item.certificate == nil
                        ? "no (mzpanel servers trust \(item.name) --fingerprint …)"
                        : "a certificate is stored (sealing verifies it against your vault)"
                ),
                ("Agent version", item.agentVersion ?? "-"),
                (
                    "Hub backups",
                    item.capabilities.contains(AgentCapability.hubBackup)
                        ? "allowed (hub jobs run here: mzpanel admin backup --destination D)"
                        : "not allowed (mzpanel-agent hub-backup enable on the box)"
                ),
                ("Concurrent runs", item.maxConcurrentRuns.map { "at most \($0) at once (the others wait for a slot)" } ?? "no cap"),
                ("Last seen", Output.date(item.lastSeenAt)), ("Created", Output.date(item.createdAt)),
            ])
        }
    }

    struct Edit: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "edit", abstract: "Rename a server or cap its concurrent runs.")
        @Argument(help: "Server id or name.") var server: String
        @Option(name: .long, help: "A new name.") var name: String?
        @Option(
            name: .customLong("max-concurrent-runs"),
            help: "At most this many runs at once on the server; the others wait for a slot (0 removes the cap; default: no cap).")
        var maxConcurrentRuns: Int?
        @OptionGroup var options: ClientOptions

        func run() async throws {
            guard name != nil || maxConcurrentRuns != nil else { throw CLIError("nothing to change: give --name or --max-concurrent-runs") }
            let data = try await options.client().raw(
                "PATCH", "/api/v1/servers/\(server.pathSegment)", body: ServerUpdate(name: name, maxConcurrentRuns: maxConcurrentRuns))
            if options.json { return Output.json(data) }
            let item = try HubDecoding.decode(Server.self, data)
            print("Updated server \(item.name) (\(item.id)).")
            Output.fields([("Concurrent runs", item.maxConcurrentRuns.map { "at most \($0) at once" } ?? "no cap")])
        }
    }

    struct Stacks: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "stacks",
            abstract: "List the Docker Compose stacks the server's agent reported: services, named volumes, bind mounts, databases.")
        @Argument(help: "Server id or name.") var server: String
        @Flag(name: .long, help: "Ask the agent to look again now (the list shows the last report meanwhile).") var refresh = false
        @OptionGroup var options: ClientOptions

        func run() async throws {
            let path = "/api/v1/servers/\(server.pathSegment)/stacks"
            let data = try await options.client().raw(refresh ? "POST" : "GET", refresh ? path + "/discover" : path)
            if options.json { return Output.json(data) }
            let report = try HubDecoding.decode(StackReport.self, data)
            if refresh { print("Asked the agent to look for Docker stacks; run this again in a few seconds for its answer.") }
            guard let reportedAt = report.reportedAt else {
                return print("The agent of \(server) has not reported Docker stacks yet (it reports every 10 minutes when Docker is installed).")
            }
            if let error = report.error { print("Discovery failed on the server: \(error)") }
            if report.stacks.isEmpty && report.error == nil { print("No Docker Compose stacks on \(server).") }
            print(report.stacks.map { $0.textLines.joined(separator: "\n") }.joined(separator: "\n\n"))
            print("\nReported \(Output.date(reportedAt)).")
        }
    }

    struct Upgrade: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "upgrade",
            abstract: "Upgrade agents to the hub's build: each waits for its runs in progress, swaps its binary and restarts.")
        @Argument(help: "Server id or name.") var server: String?
        @Flag(name: .long, help: "Every server whose agent is outdated.") var all = false
        @OptionGroup var options: ClientOptions

        func validate() throws {
            if (server == nil) == !all { throw ValidationError("name one server, or give --all") }
        }

        func run() async throws {
            let client = try options.client()
            var targets: [String] = []
            if let server {
                targets = [server]
            } else {
                var cursor: String?
                repeat {
                    let data = try await client.raw("GET", "/api/v1/servers", query: ["limit": "500", "cursor": cursor])
                    let page = try HubDecoding.decode(ServerList.self, data)
                    targets += page.servers.filter { $0.agentOutdated == true }.map(\.server.id)
                    cursor = page.nextCursor
                } while cursor != nil
                if targets.isEmpty { return print("No outdated agents.") }
            }
            var started: [AgentUpgradeStarted] = []
            for target in targets {
                let data = try await client.raw("POST", "/api/v1/servers/\(target.pathSegment)/upgrade")
                started.append(try HubDecoding.decode(AgentUpgradeStarted.self, data))
            }
            if options.json { return try Output.json(started) }
            for item in started {
                print("Upgrade sent to \(item.serverID): \(item.fromVersion ?? "unknown") → build \(item.toBuildID).")
            }
            print("Each agent upgrades once its runs in progress finish; `mzpanel servers list` shows the new version when it reconnects.")
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rm", abstract: "Remove a server, its jobs and its sealed credentials (runs and snapshots stay listed).")
        @Argument(help: "Server id or name.") var server: String
        @Flag(name: .long, help: "Do not ask for confirmation.") var yes = false
        @OptionGroup var options: ClientOptions

        func run() async throws {
            try Confirmation.require("Remove server \(server) and all its jobs?", yes: yes)
            let data = try await options.client().raw("DELETE", "/api/v1/servers/\(server.pathSegment)")
            if options.json { return Output.json(data) }
            let deleted = try HubDecoding.decode(ServerDeleted.self, data)
            print("Removed server \(server).")
            if !deleted.exposedDestinations.isEmpty {
                print("That server could open the credentials of: \(deleted.exposedDestinations.map(\.name).joined(separator: ", ")).")
                print("Rotate those providers' keys if the server may be compromised.")
            }
        }
    }
}

/// Decodes hub answers, turning a mismatch into a version hint.
enum HubDecoding {
    static func decode<T: Decodable>(_ type: T.Type, _ data: Data) throws -> T {
        do {
            return try HubJSON.decoder().decode(type, from: data)
        } catch {
            throw CLIError("the hub answered something this CLI does not understand; are the CLI and hub the same version?")
        }
    }
}
