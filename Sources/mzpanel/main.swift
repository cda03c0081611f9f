import ArgumentParser
import MZPanelCLI
import MZPanelHub

/// `mzpanel`: the hub (`serve`, `admin`) and the client commands that talk to its API.
struct MZPanelCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mzpanel",
        abstract: "MZPanel Backups: one hub for every server's backups.",
        discussion: "Client commands read the hub's URL and token from `mzpanel login`, or MZPANEL_URL and MZPANEL_TOKEN.",
        version: "0.1.0",
        subcommands: HubCommands.all + ClientCommands.all
    )
}

await ClientCommands.runMain(MZPanelCommand.self)
