import ArgumentParser
import Foundation

/// `mzpanel`: the hub (`serve`, `admin`) and the client commands that talk to its API.
public struct MZPanelCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "mzpanel",
        abstract: "MZPanel Backups: one hub for every server's backups.",
        discussion: "Client commands read the hub's URL and token from `mzpanel login`, or MZPANEL_URL and MZPANEL_TOKEN.",
        version: "0.1.0",
        subcommands: [
            ServeCommand.self, AdminCommand.self, LoginCommand.self, ServersCommand.self, DestinationsCommand.self,
            JobsCommand.self, RunsCommand.self, SnapshotsCommand.self, RestoreCommand.self, ScheduleCommand.self,
            NotificationsCommand.self, AuditCommand.self,
        ]
    )

    public init() {}

    /// Runs the CLI: parses, executes, and turns every failure into a message on stderr and an exit code.
    public static func runMain() async {
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch let error as CLIError {
            Output.error(error.message)
            Foundation.exit(error.exitCode)
        } catch {
            exit(withError: error)
        }
    }
}

/// Options every client command shares.
struct ClientOptions: ParsableArguments {
    @Flag(name: .long, help: "Print one JSON document instead of a table.")
    var json = false

    func client() throws -> APIClient { try APIClient.fromEnvironment() }
}

extension String {
    /// Escapes a path segment (names may contain dots and dashes only, ids are safe; this guards the rest).
    var pathSegment: String { addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(CharacterSet(charactersIn: "/"))) ?? self }
}
