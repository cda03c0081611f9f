import Agent
import ArgumentParser
import Foundation
import Logging
import ServiceLifecycle

struct DaemonCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "daemon",
        abstract: "Stay connected to the hub: deliver events, take run-now and job changes, fire schedules without systemd."
    )

    @OptionGroup var stateOptions: StateOptions

    @Option(name: .customLong("systemd-dir"), help: ArgumentHelp("Where to write the job timers (default: as at enrollment).", valueName: "DIR"))
    var systemdDirectory: String?

    @Flag(name: .customLong("no-systemd"), help: "Write no systemd units; this daemon fires the schedules itself.")
    var noSystemd = false

    @Option(
        name: .customLong("shutdown-grace"),
        help: ArgumentHelp("On SIGTERM, seconds that runs in progress may take to finish before they are stopped.", valueName: "SECONDS"))
    var shutdownGrace: Int = 60

    func validate() throws {
        guard shutdownGrace >= 0 else { throw ValidationError("--shutdown-grace must be 0 or more seconds") }
    }

    func run() async throws {
        let state = stateOptions.state
        var settings = try state.loadSettings()
        if let systemdDirectory { settings.systemdDirectory = systemdDirectory }
        if noSystemd { settings.systemdDirectory = nil }
        var options = Daemon.Options(firesSlots: settings.systemdDirectory == nil || !Systemd.isRunning)
        options.shutdownGrace = .seconds(shutdownGrace)
        if let text = ProcessInfo.processInfo.environment["MZPANEL_AGENT_UPGRADE_GRACE"], let seconds = TimeInterval(text), seconds > 0 {
            options.upgradeGrace = seconds
        }
        let daemon = try Daemon(state: state, settings: settings, options: options, logger: Logger(label: "mzpanel-agent.daemon"))
        var groupLogger = Logger(label: "mzpanel-agent.services")
        groupLogger.logLevel = .warning
        try await daemon.serviceGroup(logger: groupLogger).run()
    }
}
