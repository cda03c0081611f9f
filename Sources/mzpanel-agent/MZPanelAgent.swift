import Agent
import ArgumentParser
import Logging

@main
struct MZPanelAgent: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mzpanel-agent",
        abstract: "The MZPanel Backups agent: runs this server's backup jobs with restic and reports to the hub.",
        subcommands: [
            EnrollCommand.self, DaemonCommand.self, RunCommand.self, RestoreCommand.self, RestoreRunCommand.self, StatusCommand.self,
            FingerprintCommand.self, TrustCommand.self, StacksCommand.self, HubBackupCommand.self, UpgradeGuardCommand.self,
        ]
    )

    static func main() async {
        Signals.resetInherited()
        LoggingSystem.bootstrap(AgentLogHandler.init)
        // Handled here rather than by the parser so that only `--version` hashes the executable.
        if Array(CommandLine.arguments.dropFirst()) == ["--version"] {
            print("mzpanel-agent \(AgentVersion.current) (sha256 \(AgentVersion.buildSHA256 ?? "unknown"))")
            return
        }
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            exit(withError: error)
        }
    }
}

/// `--state-dir`, shared by every command.
struct StateOptions: ParsableArguments {
    @Option(name: .customLong("state-dir"), help: ArgumentHelp("The agent's state directory.", valueName: "DIR"))
    var stateDirectory: String = AgentState.defaultDirectory

    var state: AgentState { AgentState(directory: stateDirectory) }
}
