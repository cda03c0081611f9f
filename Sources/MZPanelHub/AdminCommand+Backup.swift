import ArgumentParser
import ControlPlane
import Foundation
import Logging
import MZPanelCLI
import SecretFiles
import Store

extension AdminCommand {
    /// The passphrase of a hub backup: from a file or standard input, else asked on the terminal; never a flag's value.
    static func backupPassphrase(file: String?, confirm: Bool) throws -> String {
        if let file { return try SecretInput.read(file: file, what: "passphrase") }
        let passphrase = try SecretInput.prompt("Backup passphrase", flag: "--passphrase-file")
        if confirm, try SecretInput.prompt("Repeat the passphrase", flag: "--passphrase-file") != passphrase {
            throw CLIError("the two passphrases differ; nothing was written")
        }
        return passphrase
    }

    /// The files of the data directory a backup carries: regular files at its top level, without
    /// the SQLite database and its journals (copied consistently on their own).
    static func dataFiles(in directory: String) throws -> [HubBackupArchive.Contents.File] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return try names.sorted().compactMap { name in
            guard !name.hasPrefix("hub.sqlite"), !name.hasPrefix(".mzpanel-backup-") else { return nil }
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: directory + "/" + name, isDirectory: &isDirectory), !isDirectory.boolValue else {
                return nil
            }
            guard let data = FileManager.default.contents(atPath: directory + "/" + name) else {
                throw CLIError("cannot read \(directory)/\(name); run the backup as the hub's user (sudo -u mzpanel …)")
            }
            return .init(path: name, data: data)
        }
    }

    struct Backup: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "backup",
            abstract: "Write the hub's state (database and data directory) to one encrypted file; safe while the hub runs.",
            discussion:
                "SQLite is copied with VACUUM INTO (one consistent instant), PostgreSQL with pg_dump. The file is encrypted with AES-256-GCM under a key derived from the passphrase (PBKDF2-SHA256, 600,000 rounds); keep the passphrase apart from the file."
        )
        @OptionGroup var state: HubStateOptions
        @Option(
            name: .long,
            help: ArgumentHelp(
                "The backup file to write (mode 0600); - writes it to standard output (how hub jobs stream it into restic).", valueName: "FILE"))
        var to: String?
        @Option(
            name: .long,
            help: ArgumentHelp(
                "Instead of a file: back up to this destination through the agent on the hub's machine (its hub job, created the first time), now, and wait.",
                valueName: "DESTINATION"))
        var destination: String?
        @Option(
            name: .long,
            help: ArgumentHelp("With --destination: the server whose agent allows hub backups (default: the only one).", valueName: "SERVER"))
        var server: String?
        @Option(name: .long, help: ArgumentHelp("With --destination: the hub job's name when it is created.", valueName: "NAME"))
        var job: String = "hub-backup"
        @Option(name: .long, help: ArgumentHelp("With --destination: the hub job's schedule when it is created.", valueName: "SCHEDULE"))
        var schedule: String = "daily"
        @Option(
            name: .long,
            help: ArgumentHelp("With --destination: the account's vault passphrase, to sign the job it creates (trust mode).", valueName: "FILE"))
        var vaultPassphraseFile: String?
        @Option(
            name: .long, help: ArgumentHelp("With --destination: give up waiting after this many seconds (the run goes on).", valueName: "SECONDS"))
        var timeout: Int = 6 * 3600
        @Option(name: .long, help: ArgumentHelp("File holding the passphrase (- for standard input); without it, a prompt.", valueName: "FILE"))
        var passphraseFile: String?
        @Flag(name: .long, help: "Replace the file if it exists.") var force = false

        func validate() throws {
            switch (to, destination) {
            case (nil, nil): throw ValidationError("give --to FILE (an encrypted file here) or --destination D (through the agent on this machine)")
            case (.some, .some): throw ValidationError("give either --to or --destination, not both")
            case (nil, .some) where passphraseFile != nil:
                throw ValidationError(
                    "with --destination the archive passphrase is the one the agent was given (mzpanel-agent hub-backup enable --passphrase-file); leave out --passphrase-file"
                )
            default: break
            }
        }

        func run() async throws {
            if let destination {
                return try await HubBackupClient.backupNow(
                    .init(
                        destination: destination, server: server, jobName: job, schedule: schedule, vaultPassphraseFile: vaultPassphraseFile,
                        timeout: timeout))
            }
            guard let to else { return }
            let toStandardOutput = to == "-"
            if !toStandardOutput && FileManager.default.fileExists(atPath: to) && !force {
                throw CLIError("\(to) exists; pass --force to replace it")
            }
            let passphrase = try AdminCommand.backupPassphrase(file: passphraseFile, confirm: !toStandardOutput)
            try HubBackupArchive.checkPassphrase(passphrase)
            let directory = state.resolvedDataDir
            var files: [HubBackupArchive.Contents.File] = []
            let engine: String
            if let url = state.resolvedDatabase {
                engine = "postgresql"
                files.append(.init(path: "database.sql", data: try PostgresTools(url: url).dump()))
            } else {
                engine = "sqlite"
                files.append(.init(path: "hub.sqlite", data: try await Self.copySQLite(directory: directory)))
            }
            files += try AdminCommand.dataFiles(in: directory)
            let contents = HubBackupArchive.Contents(formatVersion: 1, hubVersion: hubVersion, created: Date(), engine: engine, files: files)
            let sealed = try HubBackupArchive.seal(contents, passphrase: passphrase)
            let summary = "Backed up the hub (\(engine), \(files.count) file\(files.count == 1 ? "" : "s"), \(sealed.count) bytes encrypted)"
            if toStandardOutput {
                // The archive is the output; the summary goes to standard error.
                try FileHandle.standardOutput.write(contentsOf: sealed)
                FileHandle.standardError.write(Data((summary + ".\n").utf8))
                return
            }
            do {
                try SecretFile.write(sealed, to: to, mode: 0o600)
            } catch {
                throw CLIError("cannot write \(to): \(error)")
            }
            print(summary + " to \(to).")
        }

        /// A consistent copy of `hub.sqlite`, taken beside it and removed after reading.
        static func copySQLite(directory: String) async throws -> Data {
            let database = directory + "/hub.sqlite"
            guard FileManager.default.fileExists(atPath: database) else {
                throw CLIError("no hub database at \(database); give the hub's --data-dir (or MZPANEL_DATA_DIR / MZPANEL_DATABASE_URL)")
            }
            let copy = directory + "/.mzpanel-backup-\(UUID().uuidString).sqlite"
            defer { try? FileManager.default.removeItem(atPath: copy) }
            let backend = try await SQLBackend.sqlite(path: database, logger: Logger(label: "mzpanel.admin"))
            do {
                try await backend.copySQLite(to: copy)
            } catch {
                await backend.shutdown()
                throw CLIError("cannot copy the database: \(error)")
            }
            await backend.shutdown()
            guard let data = FileManager.default.contents(atPath: copy) else { throw CLIError("cannot read the database copy \(copy)") }
            return data
        }
    }

    struct Restore: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "restore",
            abstract: "Restore the hub's state from `mzpanel admin backup` onto this data directory (or database); stop the hub first.",
            discussion:
                "Agents keep their credentials and jobs: start the hub on the same public URL and they reconnect. Refuses to replace an existing state unless --force."
        )
        @OptionGroup var state: HubStateOptions
        @Option(name: .long, help: ArgumentHelp("The backup file.", valueName: "FILE")) var from: String
        @Option(name: .long, help: ArgumentHelp("File holding the passphrase (- for standard input); without it, a prompt.", valueName: "FILE"))
        var passphraseFile: String?
        @Flag(name: .long, help: "Replace an existing hub database (the data directory's, or a PostgreSQL database with tables).")
        var force = false

        func run() async throws {
            guard let sealed = FileManager.default.contents(atPath: from) else { throw CLIError("cannot read the backup \(from)") }
            let passphrase = try AdminCommand.backupPassphrase(file: passphraseFile, confirm: false)
            let contents = try HubBackupArchive.open(sealed, passphrase: passphrase)
            for file in contents.files where file.path.contains("/") || file.path.hasPrefix(".") || file.path.isEmpty {
                throw CLIError("the backup names a file outside the data directory (\(file.path)); it was not made by mzpanel")
            }
            let directory = state.resolvedDataDir
            umask(0o077)
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            switch contents.engine {
            case "sqlite":
                guard state.resolvedDatabase == nil else {
                    throw CLIError("this backup holds an SQLite database; restore it without --database / MZPANEL_DATABASE_URL")
                }
                if FileManager.default.fileExists(atPath: directory + "/hub.sqlite") && !force {
                    throw CLIError("\(directory) already holds a hub database; pass --force to replace it (stop the hub first)")
                }
                for journal in ["-wal", "-shm", "-journal"] { try? FileManager.default.removeItem(atPath: directory + "/hub.sqlite" + journal) }
            case "postgresql":
                guard let url = state.resolvedDatabase else {
                    throw CLIError("this backup holds a PostgreSQL dump; give the database to load it into (MZPANEL_DATABASE_URL or --database)")
                }
                let tools = try PostgresTools(url: url)
                if try tools.hasTables() && !force { throw CLIError("the PostgreSQL database already has tables; pass --force to replace them") }
                guard let dump = contents.files.first(where: { $0.path == "database.sql" }) else { throw CLIError("the backup has no database dump") }
                try tools.load(dump.data)
            default:
                throw CLIError("the backup's database engine \(contents.engine) is unknown to this mzpanel")
            }
            for file in contents.files where file.path != "database.sql" {
                try SecretFile.write(file.data, to: directory + "/" + file.path, mode: 0o600)
            }
            // Opening the store runs the migrations a backup from an older version needs.
            let store = try await state.openStore(logger: Logger(label: "mzpanel.admin"))
            let interrupted: Int
            do {
                interrupted = try await store.backend.interruptUnfinishedRuns(at: Date())
            } catch {
                await store.shutdown()
                throw CLIError("restored, but the runs in progress at backup time could not be closed: \(error)")
            }
            await store.shutdown()
            if interrupted > 0 {
                print("\(interrupted) run\(interrupted == 1 ? " was" : "s were") in progress when the backup was taken; marked interrupted.")
            }
            print(
                "Restored the hub's \(contents.engine) state of \(ISO8601DateFormatter().string(from: contents.created)) (hub \(contents.hubVersion)) into \(contents.engine == "sqlite" ? directory : "the PostgreSQL database"). Start the hub on the same public URL: agents reconnect with their credentials."
            )
        }
    }
}
