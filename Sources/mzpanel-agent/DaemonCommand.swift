import Agent
import ArgumentParser
import Foundation

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

    func run() async throws {
        let state = stateOptions.state
        var settings = try state.loadSettings()
        if let systemdDirectory { settings.systemdDirectory = systemdDirectory }
        if noSystemd { settings.systemdDirectory = nil }
        let firesSlots = settings.systemdDirectory == nil || !Systemd.isRunning
        let daemon = try Daemon(state: state, settings: settings, options: .init(firesSlots: firesSlots))
        try await Signals.runUntilTerminated(exitAfter: .seconds(2)) { await daemon.run() }
    }
}
