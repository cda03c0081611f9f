import Agent
import ArgumentParser
import Foundation

/// `mzpanel-agent hub-backup`: allow (or stop) `hub` jobs on this box, the hub's own machine. Only
/// a person on the box can: the hub cannot make a server read files for it (docs/security.md).
struct HubBackupCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hub-backup",
        abstract: "Allow this server to back up the hub that runs on it (hub jobs), or stop it.",
        subcommands: [Enable.self, Disable.self, Show.self], defaultSubcommand: Show.self)

    struct Enable: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "enable",
            abstract: "Allow hub jobs here: they stream `mzpanel admin backup` (encrypted with the passphrase in FILE) into restic.",
            discussion:
                "The passphrase file must be this user's alone (chmod 600). The hub learns only that this server allows hub jobs; the paths and the passphrase stay here."
        )
        @Option(name: .long, help: ArgumentHelp("The hub's data directory.", valueName: "DIR")) var dataDir: String = "/var/lib/mzpanel"
        @Option(name: .long, help: ArgumentHelp("The archive's passphrase (12 characters or more), mode 0600.", valueName: "FILE"))
        var passphraseFile: String
        @Option(name: .long, help: ArgumentHelp("The hub's mzpanel executable. Default: mzpanel in PATH.", valueName: "PATH"))
        var mzpanel: String?
        @Option(
            name: .long, help: ArgumentHelp("The hub's settings file, for MZPANEL_DATABASE_URL (PostgreSQL hubs).", valueName: "FILE"))
        var envFile: String?
        @OptionGroup var stateOptions: StateOptions

        func run() throws {
            guard let program = mzpanel ?? ProgramLocator.find("mzpanel") else {
                throw ValidationError("no mzpanel in PATH; give the hub's binary with --mzpanel /usr/bin/mzpanel")
            }
            let settings = try HubBackupSettings(
                dataDirectory: dataDir, passphraseFile: passphraseFile, program: program, environmentFile: envFile
            ).checked()
            try stateOptions.state.saveHubBackup(settings)
            print(
                "Hub backups allowed on this server (\(settings.dataDirectory), \(settings.program)). The hub sees it at the agent's next call; then `mzpanel admin backup --destination D` or `mzpanel jobs add NAME --kind hub --server THIS …`."
            )
        }
    }

    struct Disable: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "disable", abstract: "Refuse hub jobs here from now on.")
        @OptionGroup var stateOptions: StateOptions

        func run() throws {
            stateOptions.state.removeHubBackup()
            print("Hub backups refused on this server; hub jobs here now fail, and the hub refuses new ones.")
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "show", abstract: "Whether hub backups are allowed here, and with what.")
        @OptionGroup var stateOptions: StateOptions

        func run() throws {
            guard let settings = try stateOptions.state.loadHubBackup() else {
                return print("Hub backups are not allowed on this server (mzpanel-agent hub-backup enable allows them).")
            }
            print(
                "Hub backups allowed: data directory \(settings.dataDirectory), program \(settings.program), passphrase file \(settings.passphraseFile)"
                    + (settings.environmentFile.map { ", settings \($0)" } ?? ""))
        }
    }
}
