import ArgumentParser
import Foundation

/// The client commands: each talks to the hub's API only (`login`, `servers`, `jobs`, `snapshots`…).
public enum ClientCommands {
    public static var all: [any ParsableCommand.Type] {
        [
            LoginCommand.self, ServersCommand.self, DestinationsCommand.self, JobsCommand.self, RunsCommand.self, SnapshotsCommand.self,
            RestoreCommand.self, ScheduleCommand.self, NotificationsCommand.self, AuditCommand.self, TokensCommand.self, MembersCommand.self,
            TwoFactorCommand.self, SSOCommand.self, VaultCommand.self,
            SessionsCommand.self,
        ]
    }

    /// Runs a root command: parses, executes, and turns every failure into a message on stderr and an exit code.
    public static func runMain(_ root: any ParsableCommand.Type) async {
        do {
            var command = try root.parseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch let error as CLIError {
            Output.error(error.message)
            Foundation.exit(error.exitCode)
        } catch {
            root.exit(withError: error)
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
