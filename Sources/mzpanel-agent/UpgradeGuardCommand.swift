import Agent
import ArgumentParser
import Foundation
import Logging

/// Started by the daemon during an upgrade, from the previous binary: starts the new daemon
/// (without systemd) and restores the previous binary if the new one does not reach the hub in time.
struct UpgradeGuardCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "upgrade-guard", abstract: "Watch an agent upgrade and roll it back if the new agent does not reach the hub (internal).",
        shouldDisplay: false)

    @OptionGroup var stateOptions: StateOptions

    @Option(name: .customLong("daemon-pid"), help: "The daemon that started the upgrade.")
    var daemonPID: Int32 = 0

    @Flag(help: "The daemon runs as mzpanel-agent.service: restart it through systemd.")
    var systemd = false

    @Argument(parsing: .postTerminator, help: "The daemon's arguments.")
    var daemonArguments: [String] = []

    func run() async throws {
        let upgrade = AgentUpgrade(
            state: stateOptions.state, binary: AgentVersion.executablePath, logger: Logger(label: "mzpanel-agent.upgrade"))
        let completed = await upgrade.guardUpgrade(daemonPID: daemonPID, daemonArguments: daemonArguments, underSystemd: systemd)
        if !completed { throw ExitCode(1) }
    }
}
